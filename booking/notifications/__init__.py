"""Email and SMS about appointments: outbox rows written with the change, sent after commit."""
