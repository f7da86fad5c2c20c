"""Password rules matching Amazon Cognito's default policy."""

from django.core.exceptions import ValidationError

PASSWORD_CHARACTER_CLASSES = (
    "Your password must contain an upper-case letter, a lower-case letter, a number and a symbol."  # noqa: S105 (a message)
)


class CharacterClassesValidator:
    """Upper case, lower case, a digit and a symbol, as Cognito requires by default."""

    def validate(self, password: str, user: object = None) -> None:
        checks = (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
        if not all(checks):
            raise ValidationError(PASSWORD_CHARACTER_CLASSES, code="password_character_classes")

    def get_help_text(self) -> str:
        return PASSWORD_CHARACTER_CLASSES
