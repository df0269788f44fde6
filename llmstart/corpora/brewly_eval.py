"""Held-out Brewly questions for evaluating the whole support assistant (notebook 07).

Written by the llmstart project, like :mod:`llmstart.corpora.brewly`, whose 8 templates per
intent train and tune the intent classifier. Here are *new* wordings, none of them among those
8, so a reply evaluation is not carried by a handful of wordings filled five times:

- :data:`NEW_WORDINGS`: 12 more wordings per intent (answerable from the knowledge base);
  per intent, wordings 1-3 are ``val`` and 4-12 are ``test``: 36 + 108 questions, one per wording;
- :data:`UNANSWERABLE`: 90 questions no Brewly policy answers (none of them in
  :data:`llmstart.corpora.brewly_kb.OUT_OF_SCOPE`); the first 30 are ``val``, the other 60 ``test``.

Each wording is filled once (plan, order number, city...), with an opener and sometimes a name,
from one seeded random generator: the same ``seed`` gives the same table.

>>> df = evaluation_questions()
>>> df.groupby(["split", "answerable"]).size().to_dict()
{('test', False): 60, ('test', True): 108, ('val', False): 30, ('val', True): 36}
>>> df.question.is_unique and df.equals(evaluation_questions())
True
"""

from __future__ import annotations

import random

import pandas as pd

from llmstart.corpora.brewly import CLOSERS_NAMED, CLOSERS_PLAIN, INTENTS, NAMES, OPENERS, SLOTS

VAL_PER_INTENT = 3  # wordings 1-3 of each intent validate, the rest test
VAL_UNANSWERABLE = 30  # the first 30 unanswerable wordings validate, the rest test

NEW_WORDINGS: dict[str, tuple[str, ...]] = {
    "cancel_subscription": (
        "How can I end my Brewly subscription for good?",
        "Do I pay anything extra if I stop the {plan} plan?",
        "I'd like to close my coffee plan, where is the button?",
        "What happens if I cancel halfway through the month?",
        "Can I cancel online or do I have to call someone?",
        "Will I be charged a penalty for leaving early?",
        "I no longer drink coffee, please end my plan.",
        "Stop all future boxes and close my subscription, order {order}.",
        "Is cancelling free or is there a fee?",
        "How do I opt out of the recurring coffee delivery?",
        "Where in my account do I cancel the {plan} subscription?",
        "My budget is tight, I need to cancel Brewly.",
    ),
    "skip_delivery": (
        "How many boxes in a row can I skip?",
        "Can I miss the {month} box and restart later?",
        "I'm travelling for a few weeks, can deliveries wait?",
        "Is there a limit on pausing deliveries?",
        "Skip my next shipment please, I have too much coffee.",
        "Can I put my {plan} plan on hold until I'm back?",
        "How do I leave out one month's beans?",
        "We're renovating the kitchen, can you hold off on boxes?",
        "Could my subscription sleep for a month or two?",
        "What's the deadline to skip the upcoming box?",
        "Can I skip three deliveries without losing my plan?",
        "Please don't ship anything while I'm in {country}.",
    ),
    "change_address": (
        "How late can I change the address for the next box?",
        "I'm relocating to {city}, where do I update my details?",
        "The street name on my parcels is misspelled.",
        "Can my box go to my parents' house this time?",
        "Where do I enter a new shipping address?",
        "I changed flats last week, how do I update Brewly?",
        "Please redirect order {order} to a different address.",
        "Is there a cut-off for address changes?",
        "How do I make my deliveries go to work instead of home?",
        "Can I edit the delivery address in my account myself?",
        "My postcode changed, what do I do?",
        "Send the coffee to {city} from now on, please.",
    ),
    "where_is_my_order": (
        "How many days does shipping take?",
        "Order {order} still hasn't shown up, any news?",
        "My tracking page hasn't moved in days.",
        "When does my box leave the warehouse?",
        "It's been over a week and no coffee, help!",
        "Is my delivery running late?",
        "What day do you dispatch the boxes?",
        "I'm still waiting for my beans, where are they?",
        "How can I track parcel {order}?",
        "Should my coffee have arrived by now?",
        "The courier says nothing about my package, what's going on?",
        "When can I expect this month's delivery?",
    ),
    "damaged_or_wrong": (
        "The bag was ripped open when it arrived.",
        "I received a decaf I never ordered.",
        "Half my beans spilled out in the box, order {order}.",
        "The box came soaking wet, the coffee is ruined.",
        "You shipped {bean} but I ordered something else.",
        "My delivery had the wrong coffee in it.",
        "The parcel was squashed and the bag split.",
        "Do I need to return a damaged bag?",
        "The grind is wrong, I asked for {grind}.",
        "Something was missing from order {order}.",
        "The seal on my bag was broken on arrival.",
        "I opened the box and it was somebody else's coffee.",
    ),
    "refund": (
        "How long do I have to ask for my money back?",
        "Is it too late to get a refund on last month's box?",
        "Can I return an opened bag for a refund?",
        "When will the refund reach my card?",
        "I'd like a refund for order {order}.",
        "Please give me my money back for the {bean}.",
        "Do you refund boxes that were already delivered?",
        "How do I claim a refund?",
        "I was billed twice, can I get one payment back?",
        "What's the deadline for refunds?",
        "Can I get reimbursed for a box I didn't enjoy?",
        "Refund my most recent order, please.",
    ),
    "change_grind": (
        "Can I get my beans ground for a French press?",
        "Where do I set my preferred grind?",
        "Please switch my plan to {bean} beans.",
        "I'd like coarser coffee from now on.",
        "Can you grind for {grind} instead?",
        "How do I switch from ground coffee to whole beans?",
        "Where do I update my coffee preferences?",
        "Can I choose a darker roast for the next box?",
        "I want to try a different origin next month.",
        "My moka pot needs a finer grind, can you change it?",
        "How do I pick which beans come in my box?",
        "Can the next delivery be {grind} ground?",
    ),
    "plans_and_prices": (
        "What does the cheapest plan cost?",
        "How much is Espresso Lovers per box?",
        "What are your prices?",
        "Is shipping free?",
        "How much would I pay per month for the {plan} plan?",
        "What's the difference between your plans?",
        "Do you have a budget plan?",
        "What does a 250 g box cost?",
        "Price list please.",
        "Which of your subscriptions is the most affordable?",
        "How much is the decaf subscription?",
        "What do I get with the Explorer plan and how much is it?",
    ),
    "shipping_countries": (
        "Can you send coffee to {country}?",
        "Which countries can order Brewly?",
        "Do you deliver outside the EU?",
        "I'm in Zurich, can I get a subscription?",
        "Can I get your coffee in {country}?",
        "Do you ship to Britain after Brexit?",
        "Is Brewly available where I live in {country}?",
        "Can I have a box sent abroad to {country}?",
        "Which regions do you cover?",
        "Do I pay customs on deliveries to the UK?",
        "Can my brother in {country} subscribe too?",
        "Do you deliver internationally?",
    ),
    "payment_failed": (
        "My bank rejected the payment, what now?",
        "How do I update my card details?",
        "The charge for order {order} bounced.",
        "Where do I change my billing information?",
        "You couldn't take the payment, will my box still come?",
        "I have a new debit card, how do I add it?",
        "Why didn't my payment go through this month?",
        "My card was cancelled by the bank, how do I fix my account?",
        "Can I switch to another card for future payments?",
        "I got a failed-payment email, what should I do?",
        "How do I replace the card on file?",
        "What happens to my box if my card is declined?",
    ),
    "gift_subscription": (
        "Do you sell gift subscriptions?",
        "Can I give someone three months of coffee?",
        "I'd like to gift the {plan} plan to my mum.",
        "How long can a gift subscription last?",
        "Can I choose when the gift starts?",
        "What gift options do you have?",
        "I want to send coffee to a friend in {city} as a present.",
        "Can I print a gift card for a coffee subscription?",
        "Is a year of coffee available as a gift?",
        "How do I buy Brewly for someone else?",
        "Birthday present idea: can I gift a subscription?",
        "Can I order a six-month gift?",
    ),
    "freshness": (
        "How soon after roasting do you ship?",
        "When are your beans roasted?",
        "How long will an opened bag keep?",
        "Where is your coffee roasted?",
        "How do I keep my beans fresh?",
        "Is the {bean} freshly roasted?",
        "How old is the coffee when it arrives?",
        "Should I keep my coffee in the fridge?",
        "What day of the week do you roast?",
        "Do your beans go stale fast?",
        "How many weeks are the beans good for?",
        "Is there a roast date on the bag?",
    ),
}

UNANSWERABLE: tuple[str, ...] = (
    # val (the first 30)
    "Do you sell coffee grinders?", "Can I pay with PayPal?", "Is your coffee kosher?",
    "Do you have an app for iPhone?", "Can I bring my own bag to the roastery?",
    "Are your beans shade-grown?", "Do you offer corporate accounts for offices?",
    "What's the acidity level of the Kenya Nyeri?", "Can I get a printed receipt in the box?",
    "Do you sponsor coffee events?", "Is there a referral bonus?", "Do you sell tea?",
    "What brewing temperature do you recommend?", "Are your bags recyclable?",
    "Can I change the name on my account?", "Do you have a physical shop in Berlin?",
    "How much caffeine is in a cup of the Explorer?", "Is your decaf processed with water or chemicals?",
    "Do you sell coffee capsules?", "Can I get a VAT invoice for my business?",
    "Who founded Brewly?", "Can I delete my account and all my data?", "Do you offer barista courses?",
    "Is your coffee suitable during pregnancy?", "What milk goes best with your espresso?",
    "Do you have a newsletter?", "Are your farms certified by Rainforest Alliance?",
    "Can I get samples before subscribing?", "Do you accept Apple Pay?", "Can I work for you remotely?",
    # test (the other 60)
    "Do you sell milk frothers?", "Can I pay by bank transfer?", "Is your coffee halal?",
    "Is there an Android app?", "Can I pick up my box at the roastery?",
    "Are your beans bird-friendly certified?", "Can my company pay for my colleagues' coffee?",
    "What's the altitude of the farm behind the Colombia Huila?", "Do you sell reusable filters?",
    "Do you supply coffee for weddings?", "Is there a discount for ordering on my birthday?",
    "Do you sell hot chocolate?", "What water hardness is best for brewing?",
    "Can I return the cardboard box for reuse?", "Can I merge two Brewly accounts?",
    "Do you have a café where I can taste your coffee?", "How many calories are in your coffee?",
    "Is the Decaf Dreams coffee Swiss Water processed?", "Do you sell instant coffee?",
    "Can I pay on invoice as a company?", "Who is Brewly's CEO?",
    "What personal data do you store about me?", "Do you run cupping sessions?",
    "Can children drink your decaf?", "Which plant milk do you recommend with filter coffee?",
    "Do you post on Instagram?", "Are your farmers paid above market price?",
    "Can I get a free trial box?", "Do you accept Google Pay?", "Do you have job openings in marketing?",
    "Do you sell espresso cups and mugs?", "Can I pay in cash on delivery?",
    "Is your coffee vegan?", "Can I use Brewly with Alexa?", "Can I join a tour of the farms?",
    "How much water does it take to grow your beans?", "Can you sponsor my running club?",
    "What's the best grinder under 100 euros?", "Can I order a custom blend with my logo?",
    "Do you sell cold brew in bottles?", "Can I pay in instalments?",
    "Do you have a podcast?", "What is your carbon footprint per box?",
    "Do you have a partner programme for influencers?", "Is coffee bad for my blood pressure?",
    "Are your employees paid the living wage?", "Can I sell your coffee in my shop?",
    "What's your opinion on oat milk lattes?", "Do you support Ukrainian farmers?",
    "Can I subscribe with a prepaid gift voucher from another shop?",
    "What's the history of coffee in Ethiopia?", "Are your prices the same in Swiss francs?",
    "Can I get my box delivered by drone?", "Do you sell green unroasted beans?",
    "Do you offer a pet insurance plan?", "Can I book a table at your restaurant?",
    "Who won the football match last night?", "Can you recommend a good espresso machine?",
    "Is Brewly listed on the stock market?", "What are your opening hours on Sunday?",
)


def evaluation_questions(seed: int = 0) -> pd.DataFrame:
    """The held-out evaluation questions: ``question, intent, key_fact, answerable, split, wording, name``.

    ``intent`` is ``out_of_scope`` and ``key_fact`` empty for the unanswerable ones. One question
    per wording; ``wording`` names it (``refund/new4``, ``out_of_scope/31``).

    >>> df = evaluation_questions()
    >>> row = df[df.intent == "refund"].iloc[0]
    >>> row.split, row.key_fact, row.wording
    ('val', '14 days', 'refund/new1')
    """
    missing = {i.name for i in INTENTS} ^ set(NEW_WORDINGS)
    if missing:
        raise ValueError(f"NEW_WORDINGS and brewly.INTENTS disagree on these intents: {sorted(missing)}")
    rng = random.Random(seed)
    key_fact = {i.name: i.key_fact for i in INTENTS}
    rows = []

    def phrase(template: str) -> tuple[str, str]:
        values = {k: rng.choice(v) for k, v in SLOTS.items()}
        values["order"] = f"#BR{rng.randint(10000, 99999)}"
        name = rng.choice(NAMES) if rng.random() < 0.5 else ""
        closer = rng.choice(CLOSERS_NAMED).format(name=name) if name else rng.choice(CLOSERS_PLAIN)
        return rng.choice(OPENERS) + template.format(**values) + closer, name

    for intent, wordings in NEW_WORDINGS.items():
        for w, template in enumerate(wordings):
            question, name = phrase(template)
            rows.append({"question": question, "intent": intent, "key_fact": key_fact[intent],
                         "answerable": True, "split": "val" if w < VAL_PER_INTENT else "test",
                         "wording": f"{intent}/new{w + 1}", "name": name})
    for w, template in enumerate(UNANSWERABLE):
        question, name = phrase(template)
        rows.append({"question": question, "intent": "out_of_scope", "key_fact": "",
                     "answerable": False, "split": "val" if w < VAL_UNANSWERABLE else "test",
                     "wording": f"out_of_scope/{w + 1}", "name": name})
    df = pd.DataFrame(rows)
    df.attrs["report"] = {"source": "written by the llmstart project (llmstart/corpora/brewly_eval.py)",
                          "questions": len(df), "seed": seed}
    return df
