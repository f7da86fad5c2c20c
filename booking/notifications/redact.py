"""Phone numbers and email addresses as logs and consoles may show them: never in full."""


def mask_phone(number: str) -> str:
    """ "+447700900123" -> "+44*******123": enough to tell two numbers apart, not to dial."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]


def mask_email(address: str) -> str:
    """ "alice.smith@example.com" -> "a***@example.com"."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"
