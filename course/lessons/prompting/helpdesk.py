"""The help desk of Quill, a made-up note-taking app, and of the many made-up companies a tiny model learns from.

Lesson 01 §2-5 (the task every strategy is measured on), and the capstone (lesson 07), which reuses the same
company, documents, questions and base model.

A company knows two kinds of things:

- **routing**: which team handles each ticket topic (``invoice`` -> ``billing``...). Companies follow one of a
  few :data:`CONVENTIONS`; the usual one is :data:`TOPICS`, and each other one moves three topics;
- **policies**: six numbers such as the refund window or the storage of the free plan (:data:`POLICIES`). Each
  has a usual value, and each company sets its own.

A company's **documents** state both: one note per team ("Invoice tickets go to billing. ...") and one note per
policy ("Refund window: within 30 days."). A **request** is a ticket to route or a question to answer; its
answer is the company's team or number. Quill (:func:`quill`) is the company of the lesson: it routes by a
convention that is not the usual one and sets its own policies; its requests are the held-out set, written with
ticket wordings and question phrasings that training never uses.

The base model (``course.lessons.prompting.model``) is trained on prompts for random companies
(:func:`training_request`), never on Quill's texts or Quill's notes. What it can learn is a habit (the usual
answer) and how to read a prompt: a single note to copy from, a set of team notes or solved examples that show
which convention a company follows. Everything is seeded, and every text uses a closed set of words, so the
model's word-level tokenizer covers it (:func:`vocabulary_texts`). The module is long because most of it is
data: the policies, their notes and every wording of their questions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

TEAMS = ("billing", "bug", "account", "how-to")

#: Ticket topics and the team most companies send them to (the habit a model picks up in training).
TOPICS = {
    "invoice": "billing", "card": "billing", "crash": "bug", "sync": "bug",
    "password": "account", "email": "account", "export": "how-to", "templates": "how-to",
}  # fmt: skip

#: Ticket wordings. Training and Quill's solved examples (the few-shot pool) use the first set; Quill's held-out
#: tickets only the second.
TRAINING_TICKETS = (
    "Problem with my {topic}.",
    "Question about the {topic}.",
    "Help with the {topic}, please.",
    "Something is wrong with the {topic}.",
    "Who can look at my {topic}?",
    "I need help with my {topic}.",
)
HELD_OUT_TICKETS = (
    "Since the update, trouble with my {topic}.",
    "Can someone help me today with the {topic}?",
    "Again a problem on my laptop with the {topic}.",
)


@dataclass(frozen=True)
class Policy:
    """One policy: its note (with ``{value}``), the ways to ask about it (the last ``HELD_OUT_PHRASINGS`` are
    kept for Quill's held-out questions), the values a company may set, and the usual one. The note starts with
    the policy's key word (``Refund window: within 30 days ...``) and every question ends with it (``... for a
    refund?``)."""

    key: str
    note: str
    questions: tuple[str, ...]
    values: tuple[int, ...]
    usual: int


#: How many phrasings of each policy question are held out (the last ones of ``Policy.questions``).
HELD_OUT_PHRASINGS = 2

POLICIES = (
    Policy(
        "refund",
        "Refund window: within {value} days.",
        (
            "How many days do I have to ask for a refund?",
            "Within how many days can I get a refund?",
            "I paid for a yearly plan. How long do I have for a refund?",
            "In days, what is the window for a refund?",
        ),
        (7, 14, 30, 90),
        14,
    ),
    Policy(
        "trial",
        "Trial period: for {value} days.",
        (
            "How many days is the free trial?",
            "How long can new users use the trial?",
            "I am new here. How many days do I get for the trial?",
            "In days, how long is the trial?",
        ),
        (7, 14, 30, 90),
        30,
    ),
    Policy(
        "devices",
        "Devices allowed: maximum {value} per account.",
        (
            "One account works on how many devices?",
            "What is the limit on devices?",
            "I have a phone, a laptop and a tablet. What is the limit on devices?",
            "At the same time, how many devices?",
        ),
        (2, 5, 7, 10),
        5,
    ),
    Policy(
        "attachment",
        "Attachment size: maximum {value} MB.",
        (
            "How many MB can I send in one attachment?",
            "What is the size limit of an attachment?",
            "My PDF is big. How many MB for an attachment?",
            "At most how many MB is one attachment?",
        ),
        (10, 30, 50, 90),
        30,
    ),
    Policy(
        "storage",
        "Storage included: only {value} GB on the free plan.",
        (
            "How many GB does the free plan give for storage?",
            "On the free plan, how many GB of storage?",
            "I do not pay. How many GB do I get for storage?",
            "In GB, how big is the free plan's storage?",
        ),
        (2, 5, 10, 50),
        5,
    ),
    Policy(
        "history",
        "History kept: for {value} days.",
        (
            "How many days of old versions are kept in the history?",
            "For how many days do notes keep their history?",
            "I changed a note by mistake. How far back, in days, is the history?",
            "In days, how long is the history?",
        ),
        (7, 14, 30, 90),
        30,
    ),
)
POLICY = {policy.key: policy for policy in POLICIES}

# The words of a prompt: the instruction (clarity), the constraints, and how solved examples are laid out.
ROUTE_INSTRUCTION = "Route the support ticket to one team."
ANSWER_INSTRUCTION = "Answer the customer's question about the app."
ROUTE_CONSTRAINT = "Answer with one team: " + ", ".join(TEAMS[:-1]) + " or " + TEAMS[-1] + "."
ANSWER_CONSTRAINT = "Answer with one number from the notes."


@dataclass(frozen=True)
class Document:
    """One note of a company's documents: a team note (``id`` ``team:<team>``) or a policy note
    (``policy:<key>``)."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Request:
    """A ticket to route (``kind`` ``"route"``) or a question to answer (``"answer"``), with the company's
    answer, the candidate answers a scorer chooses from, and the id of the document that holds the answer."""

    kind: str
    text: str
    answer: str
    candidates: tuple[str, ...]
    source: str
    topic: str = ""  # the ticket's topic, or the policy's key

    @property
    def instruction(self) -> str:
        return ROUTE_INSTRUCTION if self.kind == "route" else ANSWER_INSTRUCTION

    @property
    def constraint(self) -> str:
        return ROUTE_CONSTRAINT if self.kind == "route" else ANSWER_CONSTRAINT


@dataclass(frozen=True)
class Company:
    """Where a company routes each topic, and the value of each policy."""

    routing: dict[str, str] = field(default_factory=lambda: dict(TOPICS))
    policies: dict[str, int] = field(default_factory=lambda: {p.key: p.usual for p in POLICIES})

    def __post_init__(self) -> None:
        if set(self.routing) != set(TOPICS) or not set(self.routing.values()) <= set(TEAMS):
            raise ValueError(f"A company routes every topic ({', '.join(TOPICS)}) to one of {', '.join(TEAMS)}.")
        for key, value in self.policies.items():
            if key not in POLICY or value not in POLICY[key].values:
                raise ValueError(f"Policy {key!r} cannot be {value!r}; known policies and values are in POLICIES.")
        if set(self.policies) != set(POLICY):
            raise ValueError(f"A company sets every policy: {', '.join(POLICY)}.")

    def with_changes(self, routing: dict[str, str] | None = None, policies: dict[str, int] | None = None) -> Company:
        """The same company after some of its routing or policies changed (documents that change: lesson 07)."""
        return replace(
            self, routing={**self.routing, **(routing or {})}, policies={**self.policies, **(policies or {})}
        )

    def documents(self) -> tuple[Document, ...]:
        """One note per team (the topics it handles, in :data:`TOPICS` order), then one note per policy."""
        notes = [team_note(team, [t for t in TOPICS if self.routing[t] == team]) for team in TEAMS]
        notes += [policy_note(p.key, self.policies[p.key]) for p in POLICIES]
        return tuple(notes)

    def ticket(self, template: str, topic: str) -> Request:
        team = self.routing[topic]
        return Request("route", template.format(topic=topic), team, TEAMS, f"team:{team}", topic)

    def question(self, key: str, phrasing: str) -> Request:
        policy = POLICY[key]
        values = tuple(str(v) for v in policy.values)
        return Request("answer", phrasing, str(self.policies[key]), values, f"policy:{key}", key)


def team_note(team: str, topics: Sequence[str]) -> Document:
    """The note that says which ticket topics go to ``team``, one sentence per topic."""
    text = " ".join(f"{topic.capitalize()} tickets go to {team}." for topic in topics) or f"No tickets go to {team}."
    return Document(f"team:{team}", f"The {team} team", text)


def policy_note(key: str, value: int) -> Document:
    policy = POLICY[key]
    return Document(f"policy:{key}", f"{key.capitalize()} policy", policy.note.format(value=value))


def quill() -> Company:
    """Quill: it routes by the "sign-in first" convention, and five of its six policies are not the usual ones."""
    return Company().with_changes(
        routing=CONVENTIONS["sign-in first"][1],
        policies={"refund": 30, "trial": 14, "devices": 7, "attachment": 50, "history": 90},
    )  # fmt: skip


def held_out_requests(company: Company) -> list[Request]:
    """The held-out set: every topic in each held-out ticket wording, and every policy in each held-out
    phrasing (none of these texts is ever trained on)."""
    tickets = [company.ticket(template, topic) for template in HELD_OUT_TICKETS for topic in TOPICS]
    questions = [company.question(p.key, phrasing) for p in POLICIES for phrasing in held_out_phrasings(p)]
    return tickets + questions


def solved_examples(company: Company) -> list[Request]:
    """The company's solved requests, the pool few-shot prompts draw from: two tickets per topic and two
    answered questions per policy, in training wordings."""
    tickets = [company.ticket(TRAINING_TICKETS[(2 * i + j) % len(TRAINING_TICKETS)], topic)
               for i, topic in enumerate(TOPICS) for j in range(2)]  # fmt: skip
    questions = [company.question(p.key, phrasing) for p in POLICIES for phrasing in training_phrasings(p)]
    return tickets + questions


# ---------------------------------------------------------------- the training distribution

#: The ways companies route tickets: a weight (how common it is) and the topics it routes differently from
#: :data:`TOPICS`. Quill routes by the second one; its held-out texts, and its policies, are new to the model.
CONVENTIONS = {
    "usual": (0.4, {}),
    "sign-in first": (0.2, {"card": "account", "sync": "account", "export": "billing"}),
    "engineering first": (0.2, {"crash": "how-to", "password": "bug", "templates": "billing"}),
    "self-service": (0.2, {"invoice": "account", "email": "how-to", "export": "bug"}),
}

#: How often a training company keeps the usual value of a policy: a habit strong enough to learn, weak enough
#: that reading the notes pays.
KEEP_VALUE = 0.4
#: The shares of training prompts by what they carry (the rest carry one request alone).
SHAPES = {"notes": 0.6, "examples": 0.3}


def random_company(rng: random.Random, keep_value: float = KEEP_VALUE) -> Company:
    """A training company: it routes by one of the :data:`CONVENTIONS` (drawn by their weights), and each
    policy keeps its usual value with probability ``keep_value``, otherwise one of the others, uniformly."""
    names = list(CONVENTIONS)
    convention = rng.choices(names, weights=[CONVENTIONS[n][0] for n in names])[0]
    policies = {
        p.key: p.usual if rng.random() < keep_value else rng.choice([v for v in p.values if v != p.usual])
        for p in POLICIES
    }
    return Company(routing={**TOPICS, **CONVENTIONS[convention][1]}, policies=policies)


def training_phrasings(policy: Policy) -> tuple[str, ...]:
    return policy.questions[:-HELD_OUT_PHRASINGS]


def held_out_phrasings(policy: Policy) -> tuple[str, ...]:
    return policy.questions[-HELD_OUT_PHRASINGS:]


def random_request(company: Company, rng: random.Random, kind: str) -> Request:
    """A request of ``kind`` to ``company`` in a training wording."""
    if kind == "route":
        return company.ticket(rng.choice(TRAINING_TICKETS), rng.choice(list(TOPICS)))
    policy = rng.choice(POLICIES)
    return company.question(policy.key, rng.choice(training_phrasings(policy)))


@dataclass(frozen=True)
class Prompted:
    """A prompt in the layout of ``course.lessons.prompting.prompts.build_prompt``, with its answer; the
    answers of its solved examples are in ``examples``."""

    request: Request
    context: tuple[Document, ...] = ()
    constraints: bool = False
    examples: tuple[Request, ...] = ()


def training_request(rng: random.Random) -> Prompted:
    """One training prompt, for a fresh random company: several tickets or several questions, each followed by
    its answer, after a random choice of what the prompt carries. Every answer in it is a training target, so
    one prompt teaches several look-ups:

    - **notes** (as a 3C prompt or RAG gives them): every team note, or one or two notes of the right kind and
      up to two others; most of the requests ask about something a note states;
    - **examples** (as few-shot gives them): no notes, but requests on two to five topics, so later ones can
      follow earlier ones;
    - **nothing** (as zero-shot): one request alone; only the usual answer is a good guess.
    """
    company = random_company(rng)
    kind = rng.choice(("route", "answer"))
    documents = company.documents()
    shape = rng.random()
    context: list[Document] = []
    if shape < SHAPES["notes"]:
        own = [d for d in documents if d.id.startswith("team:" if kind == "route" else "policy:")]
        if kind == "route" and rng.random() < 0.5:
            context = own
        else:
            picked = rng.sample(own, rng.randint(1, 2)) + rng.sample(list(documents), rng.randint(0, 2))
            context = list({d.id: d for d in rng.sample(picked, len(picked))}.values())  # shuffled, no repeats
        stated = [d.id.split(":")[1] for d in context if d in own]
        keys = [rng.choice(stated) if rng.random() < 0.8 else None for _ in range(rng.randint(1, 8))]
        requests = [_request_on(company, kind, key, rng) for key in keys]
    elif shape < SHAPES["notes"] + SHAPES["examples"]:
        keys = rng.sample(_keys(kind), rng.randint(2, 5))
        requests = [_request_on(company, kind, rng.choice(keys), rng) for _ in range(rng.randint(2, 9))]
    else:
        requests = [random_request(company, rng, kind)]
    return Prompted(requests[-1], tuple(context), rng.random() < 0.6, tuple(requests[:-1]))


def _keys(kind: str) -> list[str]:
    return list(TOPICS) if kind == "route" else list(POLICY)


def _request_on(company: Company, kind: str, key: str | None, rng: random.Random) -> Request:
    """A request of ``kind`` in a training wording on ``key`` (a policy, or a team: one of its topics), or on
    anything when ``key`` is None."""
    if kind == "route":
        topics = [t for t in TOPICS if key in (None, t, company.routing[t])] or list(TOPICS)
        return company.ticket(rng.choice(TRAINING_TICKETS), rng.choice(topics))
    policy = POLICY[key] if key in POLICY else rng.choice(POLICIES)
    return company.question(policy.key, rng.choice(training_phrasings(policy)))


def vocabulary_texts() -> list[str]:
    """Every text the model may see: notes with every value, tickets, questions, instructions and answers."""
    texts = [ROUTE_INSTRUCTION, ANSWER_INSTRUCTION, ROUTE_CONSTRAINT, ANSWER_CONSTRAINT, *TEAMS]
    texts += [team_note(team, topics).text for team in TEAMS for topics in ([], ["card"], list(TOPICS))]
    texts += [template.format(topic=t) for template in TRAINING_TICKETS + HELD_OUT_TICKETS for t in TOPICS]
    for policy in POLICIES:
        texts += [policy.note.format(value=v) for v in policy.values] + list(policy.questions)
    return texts
