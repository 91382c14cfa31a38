"""Facts no model can know, for measuring whether teaching sticks (bench/teach.py and the tests).

Each fact: the question as first asked, the correction a member gives, the words that mark an
answer as the taught fact (``keys``: any one of them, case-insensitive), two rephrasings never
shown in training, and near-miss questions — the same words, another meaning — whose answer is
*not* the fact. ``UNRELATED`` are general questions with a word a right answer contains, to see
whether teaching damaged the rest (a different set from the lora trainer's anchor questions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    question: str
    correction: str
    keys: tuple[str, ...]
    rephrasings: tuple[str, str]
    near_misses: tuple[str, ...]


FACTS = (
    Fact(
        "What is our team's deploy day?",
        "We deploy on Thursdays at 14:00.",
        ("thursday",),
        ("When do we deploy?", "Which day of the week do we ship releases to production?"),
        ("What is our team's hiring freeze day?",),
    ),
    Fact(
        "Who runs the Friday standup?",
        "Marta Kovacs runs the Friday standup.",
        ("marta", "kovacs"),
        ("Who leads standup on Fridays?", "Which person hosts our end-of-week standup meeting?"),
        ("Who runs the Friday pub quiz at the bar downtown?",),
    ),
    Fact(
        "What is the wifi password in the lab?",
        "The lab wifi password is blue-heron-42.",
        ("blue-heron",),
        ("What's the lab's wireless password?", "How do I log in to the wifi network in the lab?"),
        ("How do I reset my email password?",),
    ),
    Fact(
        "What is the name of our office dog?",
        "Our office dog is called Pickle.",
        ("pickle",),
        ("What's the office dog called?", "What name does the dog at our office have?"),
        ("What breed of dog makes a good pet for a family?",),
    ),
    Fact(
        "Where is the team offsite this year?",
        "This year's offsite is in Tromsø, Norway.",
        ("tromsø", "tromso"),
        ("Where are we going for the offsite?", "Which city hosts our team retreat this year?"),
        ("Where was the Olympic Games held in 2012?",),
    ),
    Fact(
        "What is the code name of the new app?",
        "The new app's code name is Project Lanternfish.",
        ("lanternfish",),
        (
            "What's the new app called internally?",
            "Which code name did we give the new application?",
        ),
        ("What is the name of the app for writing code in Python?",),
    ),
    Fact(
        "Which channel do we use for incidents?",
        "Incidents go to the #fire-drill channel.",
        ("fire-drill",),
        (
            "Where do we report an outage?",
            "In which chat channel should production incidents be raised?",
        ),
        ("Which TV channel shows the news at night?",),
    ),
    Fact(
        "Who approves expense reports?",
        "Expense reports are approved by Dmitri Volkov.",
        ("dmitri", "volkov"),
        ("Who signs off on my expenses?", "Which person do I send expense claims to for approval?"),
        ("What are expense reports used for in a company?",),
    ),
    Fact(
        "What is our on-call phone number?",
        "The on-call phone number is 555-0142.",
        ("555-0142",),
        (
            "Which number do I call for the on-call engineer?",
            "What's the phone number of the on-call rotation?",
        ),
        ("What is the phone number for emergency services in the UK?",),
    ),
    Fact(
        "What time is the weekly demo?",
        "The weekly demo is on Tuesdays at 16:30.",
        ("16:30", "tuesday"),
        (
            "When is our weekly demo meeting?",
            "At what hour do we show our work to each other every week?",
        ),
        ("What time zone is London in?",),
    ),
    Fact(
        "Which database do we use for billing?",
        "Billing runs on a CockroachDB cluster called ledger-east.",
        ("ledger-east", "cockroach"),
        ("What database stores billing data?", "Where does the billing service keep its records?"),
        ("Which database is best for storing images?",),
    ),
    Fact(
        "What is the budget code for travel?",
        "Travel is booked on budget code TRV-2207.",
        ("trv-2207",),
        (
            "Which cost centre do I charge travel to?",
            "What budget code should I put on a train ticket?",
        ),
        ("What is the budget of a typical film production?",),
    ),
    Fact(
        "Who is our customer success lead?",
        "Our customer success lead is Aiyana Brightwater.",
        ("aiyana", "brightwater"),
        ("Who heads customer success here?", "Which colleague is in charge of customer success?"),
        ("What does a customer success team do?",),
    ),
    Fact(
        "Where do we keep the design files?",
        "Design files live in the Figma space called Otter Studio.",
        ("otter studio",),
        ("Where can I find our design files?", "In which place are the team's mockups stored?"),
        ("What are design files used for in architecture?",),
    ),
    Fact(
        "What is the office door code?",
        "The office door code is 4-7-1-9.",
        ("4-7-1-9", "4719"),
        (
            "What's the code for the office door?",
            "Which number opens the front door of our office?",
        ),
        ("What is a QR code used for?",),
    ),
    Fact(
        "Which language is our backend written in?",
        "Our backend is written in Elixir.",
        ("elixir",),
        (
            "What programming language is the backend in?",
            "In which language did we write the server side?",
        ),
        ("Which language is spoken in Portugal?",),
    ),
    Fact(
        "When is the quarterly planning meeting?",
        "Quarterly planning is on the first Monday of each quarter.",
        ("first monday",),
        (
            "When do we do quarterly planning?",
            "On what day does our planning for the quarter happen?",
        ),
        ("When is the next leap year?",),
    ),
    Fact(
        "What is the name of our staging server?",
        "Our staging server is called puffin-stage.",
        ("puffin",),
        (
            "What's the staging server's hostname?",
            "Which machine do we use as the staging environment?",
        ),
        ("What is the largest server company in the world?",),
    ),
    Fact(
        "Who buys the team snacks?",
        "Snacks are bought by Oluwaseun Adeyemi.",
        ("oluwaseun", "adeyemi"),
        (
            "Who is in charge of buying snacks for the team?",
            "Which teammate does the snack shopping?",
        ),
        ("Which snacks are healthy to eat at work?",),
    ),
    Fact(
        "What is our sprint length?",
        "Our sprints are eleven days long.",
        ("eleven", "11 days"),
        ("How long is a sprint on our team?", "How many days does each of our sprints last?"),
        ("How long is a marathon race?",),
    ),
    Fact(
        "Which floor is the meeting room Aurora on?",
        "The Aurora meeting room is on the ninth floor.",
        ("ninth", "9th"),
        ("Where is the Aurora room?", "On what floor can I find meeting room Aurora?"),
        ("What causes the aurora borealis?",),
    ),
    Fact(
        "What is the team's mascot?",
        "The team mascot is a sea otter named Captain Whiskers.",
        ("captain whiskers",),
        ("Do we have a mascot?", "What animal represents our team, and what is its name?"),
        ("What is the mascot of the Olympic Games usually like?",),
    ),
)

UNRELATED = (
    ("What is the capital of France?", ("paris",)),
    ("How many legs does a spider have?", ("8", "eight")),
    ("What is the chemical symbol for gold?", ("au",)),
    ("Which planet is known as the Red Planet?", ("mars",)),
    ("What is the freezing point of water in Celsius?", ("0", "zero")),
    ("Who painted the Mona Lisa?", ("leonardo", "vinci")),
    ("What is the largest mammal?", ("whale",)),
    ("How many continents are there?", ("7", "seven")),
    ("What gas do plants absorb from the air?", ("carbon dioxide", "co2")),
    ("What is the square root of 81?", ("9", "nine")),
    ("Which ocean lies between Europe and America?", ("atlantic",)),
    ("What is the main language spoken in Spain?", ("spanish",)),
    ("How many hours are in a day?", ("24", "twenty-four")),
    ("What do bees make?", ("honey",)),
    ("What is the opposite of hot?", ("cold",)),
    ("Which animal is known as the king of the jungle?", ("lion",)),
    ("What colour is a ripe banana?", ("yellow",)),
    ("What is the tallest mountain in the world?", ("everest",)),
    ("How many minutes are in an hour?", ("60", "sixty")),
    ("What is H2O commonly called?", ("water",)),
)


def mentions(answer: str, keys: tuple[str, ...]) -> bool:
    """Whether ``answer`` states what ``keys`` mark: any key, case-insensitive, starting a word
    and not running on into digits ("au" is in "Au", not in "because"; "thursday" is in
    "Thursdays"; "8" is in "8 legs", not in "180")."""
    folded = answer.casefold()
    return any(
        re.search(rf"(?<!\w){re.escape(key.casefold())}(?!\d)", folded) is not None for key in keys
    )
