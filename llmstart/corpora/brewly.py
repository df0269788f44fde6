"""On-brand customer-service replies for Brewly, a fictional coffee-subscription startup.

Written by the llmstart project (not scraped, not from any real company): 12 customer
intents, each with 8 differently worded question templates and 2-3 reply templates that
follow one house style, filled with order numbers, names, plans, grinds and countries.

House style of every reply (what fine-tuning should teach, and prompting alone rarely gets):

1. greet by name when the customer signed with one (``Hi Priya!``), else ``Hi there!``;
2. give Brewly's concrete policy for the intent (each intent has a ``key_fact`` phrase that
   every correct reply contains, e.g. ``14 days`` for refunds);
3. one next step; then sign off with exactly ``Happy brewing! - The Brewly team``.

Splits are by *question template*: per intent, templates 1-5 are ``train``, 6 is ``val``,
7-8 are ``test``. A test question is therefore worded in a way never seen in training, and
no test row is ever trained on. 5 fills per template give 40 pairs per intent, 480 in all.

>>> df = support_replies()
>>> len(df), df.intent.nunique(), df.groupby("intent").size().unique().tolist()
(480, 12, [40])
>>> df.split.value_counts().to_dict()
{'train': 300, 'test': 120, 'val': 60}
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pandas as pd

SIGN_OFF = "Happy brewing! - The Brewly team"
SYSTEM_PROMPT = "You are Brewly's customer-support assistant."


@dataclass(frozen=True)
class Intent:
    """One customer intent: its question templates and its house-style reply templates.

    >>> INTENTS[0].name, len(INTENTS[0].questions)
    ('cancel_subscription', 8)
    """

    name: str
    key_fact: str  # a phrase every correct reply contains
    questions: tuple[str, ...]  # 8 templates: 5 train, 1 val, 2 test
    replies: tuple[str, ...]  # reply bodies; each contains key_fact


INTENTS: tuple[Intent, ...] = (
    Intent(
        "cancel_subscription", "no cancellation fee",
        (
            "How do I cancel my subscription?",
            "I want to stop my {plan} subscription.",
            "Please cancel my Brewly plan, order {order}.",
            "Is there a fee if I cancel?",
            "I'm moving abroad and need to end my coffee subscription.",
            "Can I quit the {plan} plan right now?",
            "What's the process to terminate my membership with you?",
            "Unsubscribe me from the monthly beans, please.",
        ),
        (
            "You can cancel any time under Account > Subscription > Cancel, and there is no cancellation fee. A box you have already paid for still ships.",
            "Sorry to see you go! There is no cancellation fee: open Account > Subscription and press Cancel. Any box already paid for will still arrive.",
            "Cancelling takes a minute in Account > Subscription, with no cancellation fee. If you change your mind, you can restart whenever you like.",
        ),
    ),
    Intent(
        "skip_delivery", "up to 3 boxes",
        (
            "Can I skip next month's delivery?",
            "I'm on holiday in {month}, can you pause my box?",
            "How do I pause the {plan} subscription for a while?",
            "I still have plenty of beans, can I skip a box?",
            "Please hold my deliveries for two months.",
            "Is it possible to take a break from my subscription without cancelling?",
            "Could you postpone my upcoming shipment? I'm away.",
            "Can you not send coffee in {month}?",
        ),
        (
            "You can skip up to 3 boxes in a row under Account > Deliveries. Changes made before Thursday midnight apply to the next box.",
            "Of course! Under Account > Deliveries you can skip up to 3 boxes in a row, and your plan restarts by itself afterwards.",
        ),
    ),
    Intent(
        "change_address", "before Sunday midnight",
        (
            "I moved, how do I change my delivery address?",
            "Please send my next box to my new flat in {city}.",
            "Can I update the shipping address for order {order}?",
            "My address is wrong on my account, how do I fix it?",
            "Where do I change where my coffee gets delivered?",
            "I'd like future parcels to go to my office in {city} instead.",
            "New home, same coffee: how do I tell you where I live now?",
            "How can I edit my postal details?",
        ),
        (
            "Update it under Account > Addresses. Boxes ship every Monday, so changes made before Sunday midnight apply to the next one.",
            "Congratulations on the move! Change it in Account > Addresses; anything saved before Sunday midnight goes on the next Monday box.",
        ),
    ),
    Intent(
        "where_is_my_order", "2-4 working days",
        (
            "Where is my order {order}?",
            "My coffee hasn't arrived yet.",
            "When will my box get here?",
            "I ordered last week and still nothing, order {order}.",
            "Can you tell me the delivery status of my beans?",
            "Has my parcel {order} been shipped?",
            "How long does delivery usually take?",
            "No box this month, what happened?",
        ),
        (
            "Boxes ship on Mondays and arrive in 2-4 working days. Your tracking link is in the shipping email for {order}; if it has been more than 7 days, reply here and we send a new box for free.",
            "Sorry for the wait! Delivery takes 2-4 working days after the Monday dispatch. Check the tracking link in your shipping email, and if {order} is over 7 days late we will resend it free.",
        ),
    ),
    Intent(
        "damaged_or_wrong", "free replacement",
        (
            "My bag of beans arrived torn.",
            "I got {bean} instead of what I ordered.",
            "The box for order {order} was crushed.",
            "You sent me the wrong grind.",
            "The coffee arrived damaged, what now?",
            "The package I received contains someone else's order.",
            "My beans came in a broken bag and spilled everywhere.",
            "This isn't the coffee I picked, order {order}.",
        ),
        (
            "I'm sorry about that! Please reply with a photo and we will ship a free replacement within 2 working days. No need to send anything back.",
            "That should not happen, sorry! Send us a photo by replying here and a free replacement leaves within 2 working days. You can keep the original.",
        ),
    ),
    Intent(
        "refund", "14 days",
        (
            "Can I get a refund?",
            "I want my money back for order {order}.",
            "How do refunds work?",
            "I didn't like the {bean}, can you refund it?",
            "I was charged for a box I don't want.",
            "Can you reimburse my last payment?",
            "What's your money-back policy?",
            "Refund order {order} please, it was a mistake.",
        ),
        (
            "You can ask for a refund within 14 days of delivery, opened or not. Just reply with your order number and the money is back on your card in 5-7 working days.",
            "Yes: any box can be refunded within 14 days of delivery. Reply with the order number and you will see the money on your original payment method in 5-7 working days.",
        ),
    ),
    Intent(
        "change_grind", "Account > Preferences",
        (
            "Can I switch to {grind} grind?",
            "I bought an espresso machine, how do I change my grind?",
            "Please send whole beans instead of ground coffee.",
            "How do I change the coffee in my plan to {bean}?",
            "I'd like a different grind size from the next box on.",
            "Can I get my coffee ground for {grind} from now on?",
            "Where can I pick a different roast or grind?",
            "My new grinder arrived, so no more pre-ground please.",
        ),
        (
            "Sure! Pick {grind} under Account > Preferences; the change applies to your next box if you save it before Thursday midnight.",
            "You can choose grind and beans any time in Account > Preferences. For example, set it to {grind} and the next box follows.",
        ),
    ),
    Intent(
        "plans_and_prices", "€14",
        (
            "How much does a subscription cost?",
            "What plans do you offer?",
            "What's the price of the {plan} plan?",
            "Is there a cheaper option?",
            "Tell me about your subscription tiers.",
            "How many euros is one box?",
            "Which package should I choose and what does it cost?",
            "Can you compare your plans for me?",
        ),
        (
            "Filter Fan is €14 per 250 g box, Espresso Lovers €16, Decaf Dreams €15 and Explorer €19 for two single origins. Shipping is free on orders over €30.",
            "Our plans: Filter Fan €14, Decaf Dreams €15, Espresso Lovers €16 and Explorer €19 per box. You can switch plan any time in Account > Subscription.",
        ),
    ),
    Intent(
        "shipping_countries", "the EU, the UK and Switzerland",
        (
            "Do you ship to {country}?",
            "Can I order from {country}?",
            "Which countries do you deliver to?",
            "Is international shipping available?",
            "I live in {country}, can I subscribe?",
            "Are you able to send coffee outside Germany?",
            "Where in the world can I get Brewly?",
            "Will you post a box to my sister in {country}?",
        ),
        (
            "We ship to the EU, the UK and Switzerland. Delivery is free on orders over €30, and we handle customs for the UK and Switzerland.",
            "Right now we deliver to the EU, the UK and Switzerland, with customs taken care of by us. We hope to add more countries soon.",
        ),
    ),
    Intent(
        "payment_failed", "Account > Billing",
        (
            "My payment failed.",
            "My card expired, how do I update it?",
            "Why was my card declined for order {order}?",
            "I need to change my payment method.",
            "I got an email saying the charge didn't go through.",
            "How do I put a new credit card on my account?",
            "The billing didn't work this month, what should I do?",
            "Can I pay with a different card from now on?",
        ),
        (
            "Please update your card under Account > Billing. We retry the payment automatically after 24 hours and hold your box for up to 7 days.",
            "No worries! Add the new card in Account > Billing and we retry within 24 hours; your box waits for up to 7 days.",
        ),
    ),
    Intent(
        "gift_subscription", "3, 6 or 12 boxes",
        (
            "Can I buy a subscription as a gift?",
            "I want to give coffee to my dad for his birthday.",
            "Do you have gift cards?",
            "How do gift subscriptions work?",
            "Can I send the {plan} plan to a friend in {city}?",
            "I'm looking for a present for a coffee lover.",
            "Is there a way to gift a few months of Brewly?",
            "Could I surprise my colleague with a coffee subscription?",
        ),
        (
            "Yes! Gift subscriptions come as 3, 6 or 12 boxes, with a start date you choose and a card we email or you print.",
            "What a lovely idea! Choose 3, 6 or 12 boxes under Gifts, pick the start date, and we send a gift card by email or for printing.",
        ),
    ),
    Intent(
        "freshness", "within 3 days of roasting",
        (
            "How fresh is your coffee?",
            "When was the {bean} roasted?",
            "How long do the beans stay good?",
            "How should I store my coffee?",
            "Is your coffee roasted to order?",
            "What's the best-before on your beans?",
            "Do the beans lose flavour quickly?",
            "Where and when do you roast?",
        ),
        (
            "We roast in Berlin every Friday and ship within 3 days of roasting. The beans are best within 6 weeks; keep them airtight and away from light.",
            "Very fresh: every bag leaves within 3 days of roasting, and the roast date is on the label. Enjoy it within 6 weeks and store it in an airtight tin.",
        ),
    ),
)

SLOTS = {
    "plan": ["Espresso Lovers", "Filter Fan", "Decaf Dreams", "Explorer"],
    "bean": ["Ethiopia Yirgacheffe", "Colombia Huila", "Brazil Cerrado", "Kenya Nyeri", "Guatemala Antigua"],
    "grind": ["espresso", "filter", "French press", "moka pot", "whole bean"],
    "city": ["Munich", "Lyon", "Utrecht", "Vienna", "Porto", "Leeds", "Krakow"],
    "country": ["France", "Spain", "the UK", "Switzerland", "Austria", "Italy", "Ireland"],
    "month": ["August", "December", "July", "October"],
}
NAMES = ["Priya", "Tom", "Lena", "Marco", "Aisha", "Jonas", "Sofia", "Chen", "Emma", "Luis", "Noor", "Ben"]
OPENERS = ["", "Hi, ", "Hello! ", "Hey Brewly, ", "Good morning. "]
CLOSERS_PLAIN = ["", " Thanks!", " Thank you."]
CLOSERS_NAMED = [" Cheers, {name}", " Thanks, {name}", " - {name}"]
SPLIT_OF_TEMPLATE = ["train"] * 5 + ["val"] + ["test"] * 2
PER_TEMPLATE = 5


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format(**values)


def support_replies(seed: int = 0) -> pd.DataFrame:
    """The Brewly customer-service set: columns ``intent, question, answer, key_fact, split, template``.

    Deterministic for a given ``seed``; ``text`` (= question) and ``label`` (= intent) are
    added so the same table also serves intent classification.

    >>> df = support_replies()
    >>> row = df.iloc[0]
    >>> row.answer.endswith(SIGN_OFF) and row.key_fact in row.answer
    True
    >>> set(df[df.split == "test"].template) & set(df[df.split == "train"].template)
    set()
    """
    rng = random.Random(seed)
    rows, seen = [], set()
    for intent in INTENTS:
        assert len(intent.questions) == len(SPLIT_OF_TEMPLATE), intent.name
        for t, template in enumerate(intent.questions):
            made = 0
            while made < PER_TEMPLATE:
                values = {k: rng.choice(v) for k, v in SLOTS.items()}
                values["order"] = f"#BR{rng.randint(10000, 99999)}"
                name = rng.choice(NAMES) if rng.random() < 0.5 else None
                closer = rng.choice(CLOSERS_NAMED).format(name=name) if name else rng.choice(CLOSERS_PLAIN)
                question = rng.choice(OPENERS) + _fill(template, values) + closer
                if question in seen:
                    continue
                seen.add(question)
                greeting = f"Hi {name}!" if name else "Hi there!"
                body = _fill(rng.choice(intent.replies), values)
                rows.append({
                    "intent": intent.name,
                    "question": question,
                    "answer": f"{greeting} {body} {SIGN_OFF}",
                    "key_fact": intent.key_fact,
                    "name": name or "",
                    "split": SPLIT_OF_TEMPLATE[t],
                    "template": f"{intent.name}/{t + 1}",
                })
                made += 1
    df = pd.DataFrame(rows)
    df["text"], df["label"] = df.question, df.intent
    df.attrs["report"] = {"source": "written by the llmstart project (llmstart/corpora/brewly.py)",
                          "pairs": len(df), "seed": seed}
    return df


def style_scores(answers: list[str], rows: pd.DataFrame) -> dict[str, float]:
    """How well generated ``answers`` follow the house style, as fractions of the rows.

    ``greeting``: the expected greeting (by name, or ``Hi there!``) opens the reply;
    ``key_fact``: the intent's policy phrase is in it; ``sign_off``: it ends with the
    Brewly sign-off.

    >>> df = support_replies().head(2)
    >>> style_scores(list(df.answer), df)
    {'greeting': 1.0, 'key_fact': 1.0, 'sign_off': 1.0}
    """
    if len(answers) != len(rows):
        raise ValueError(f"{len(answers)} answers for {len(rows)} rows")
    greet = key = sign = 0
    for answer, (_, row) in zip(answers, rows.iterrows(), strict=True):
        expected = f"Hi {row['name']}!" if row["name"] else "Hi there!"
        greet += answer.strip().startswith(expected)
        key += row["key_fact"].lower() in answer.lower()
        sign += answer.strip().endswith(SIGN_OFF)
    n = max(len(answers), 1)
    return {"greeting": greet / n, "key_fact": key / n, "sign_off": sign / n}
