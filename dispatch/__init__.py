"""Cases, evidence, and (later) reminders, deadlines, escalation and the outbox. Imports detector and zones only."""
