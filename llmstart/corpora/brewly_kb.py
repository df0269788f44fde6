"""Brewly's knowledge base (the facts a support reply may state) and questions Brewly's
support cannot answer, both written by the llmstart project from :mod:`llmstart.corpora.brewly`.

Each fact document belongs to one intent and contains that intent's ``key_fact`` phrase, so a
reply built on the right document can state the policy. ``OUT_OF_SCOPE`` lists questions
outside every intent (and outside the knowledge base): the right answer is a hand-over to a
person, never an invented policy.

>>> from llmstart.corpora.brewly import INTENTS
>>> all(i.key_fact in KNOWLEDGE_BASE[i.name] for i in INTENTS)
True
>>> len(OUT_OF_SCOPE) >= 12
True
"""

from __future__ import annotations

import pandas as pd

KNOWLEDGE_BASE: dict[str, str] = {
    "cancel_subscription": "Cancelling: customers cancel any time under Account > Subscription > Cancel; "
                           "there is no cancellation fee, and a box already paid for still ships.",
    "skip_delivery": "Skipping or pausing deliveries: customers can skip up to 3 boxes in a row under "
                     "Account > Deliveries; changes before Thursday midnight apply to the next box.",
    "change_address": "Changing the delivery address: update it under Account > Addresses; boxes ship "
                      "every Monday, so changes saved before Sunday midnight apply to the next box.",
    "where_is_my_order": "Delivery times: boxes ship on Mondays and arrive in 2-4 working days; the "
                         "tracking link is in the shipping email; a box more than 7 days late is resent free.",
    "damaged_or_wrong": "Damaged or wrong items: the customer replies with a photo and Brewly ships a free "
                        "replacement within 2 working days; nothing needs to be sent back.",
    "refund": "Refunds: any box can be refunded within 14 days of delivery, opened or not; the money is "
              "back on the original payment method in 5-7 working days.",
    "change_grind": "Grind and beans: customers choose grind size and coffee under Account > Preferences; "
                    "changes saved before Thursday midnight apply to the next box.",
    "plans_and_prices": "Plans and prices per 250 g box: Filter Fan €14, Decaf Dreams €15, Espresso Lovers "
                        "€16, Explorer €19 (two single origins); shipping is free on orders over €30.",
    "shipping_countries": "Shipping countries: Brewly ships to the EU, the UK and Switzerland, and handles "
                          "customs for the UK and Switzerland.",
    "payment_failed": "Failed payments: customers update the card under Account > Billing; the payment is "
                      "retried after 24 hours and the box is held for up to 7 days.",
    "gift_subscription": "Gift subscriptions: 3, 6 or 12 boxes with a chosen start date, and a gift card "
                         "sent by email or printed at home; order under Gifts.",
    "freshness": "Freshness: Brewly roasts in Berlin every Friday and ships within 3 days of roasting; "
                 "beans are best within 6 weeks, stored airtight and away from light.",
}

OUT_OF_SCOPE: tuple[str, ...] = (
    "Do you sell espresso machines?",
    "Can I pay with Bitcoin?",
    "Is your packaging compostable?",
    "What is the caffeine content of your decaf in milligrams?",
    "Can I visit the roastery for a tour?",
    "Are your farmers paid a fair-trade premium?",
    "I want to become a wholesale partner for my café.",
    "Do you have a student discount?",
    "Do you have a loyalty points programme?",
    "Can I put my company name on the invoice?",
    "I'd like to speak to a lawyer about my data.",
    "Are you hiring baristas?",
    "Is the Explorer coffee organic certified?",
    "What is the weather in Berlin today?",
)


def knowledge_base() -> pd.DataFrame:
    """The knowledge base as a table: ``intent, text, must_say`` (one fact document per intent;
    ``must_say`` is the phrase a reply built on the document must contain: the intent's key fact).

    >>> knowledge_base().shape
    (12, 3)
    """
    from llmstart.corpora.brewly import INTENTS

    must = {i.name: i.key_fact for i in INTENTS}
    return pd.DataFrame({"intent": list(KNOWLEDGE_BASE), "text": list(KNOWLEDGE_BASE.values()),
                         "must_say": [must[name] for name in KNOWLEDGE_BASE]})


def out_of_scope_questions() -> pd.DataFrame:
    """The unanswerable questions, labelled ``out_of_scope`` (columns ``question, intent``).

    >>> out_of_scope_questions().intent.unique().tolist()
    ['out_of_scope']
    """
    return pd.DataFrame({"question": list(OUT_OF_SCOPE), "intent": "out_of_scope"})
