"""Kafka topic names. Explicit constants: a class rename never changes the wire."""

INTAKE_EVENTS = "repairline.intake.events"
DISPATCH_EVENTS = "repairline.dispatch.events"
BILLING_EVENTS = "repairline.billing.events"
FEEDBACK_EVENTS = "repairline.feedback.events"
DEAD_LETTER = "repairline.deadletter"

CONTEXT_TOPICS: dict[str, str] = {
    "intake": INTAKE_EVENTS,
    "dispatch": DISPATCH_EVENTS,
    "billing": BILLING_EVENTS,
    "feedback": FEEDBACK_EVENTS,
}

ALL_TOPICS: tuple[str, ...] = (*CONTEXT_TOPICS.values(), DEAD_LETTER)

DEFAULT_PARTITIONS = 6
