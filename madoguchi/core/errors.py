"""Domain errors: services raise these, one middleware maps them to HTTP."""


class ApplicationError(Exception):
    """Base of every error a service raises on purpose; its message is shown to the user.

    `message` is an English msgid (`gettext_noop`), `extra` its `%(name)s` parameters, and
    `field` the input it refuses (a service keyword), so a form shows it beside that field
    (`core.service_forms`)."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        extra: dict[str, object] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.field = field

    def __str__(self) -> str:
        """The English sentence with its parameters (logs, stored errors, tests)."""
        return self.message % self.extra if self.extra else self.message


class NotFoundError(ApplicationError):
    """The object does not exist, or the actor may not see it: both look the same."""

    status_code = 404


class PermissionDeniedError(ApplicationError):
    """The actor can see the object but may not make this change."""

    status_code = 403


class ValidationError(ApplicationError):
    """The input is not acceptable."""

    status_code = 400


class ConflictError(ApplicationError):
    """The change conflicts with the current state (for example a stale edit)."""

    status_code = 409


def stored_error_text(error: BaseException) -> str:
    """The text a durable row keeps of a failure: an `ApplicationError`'s own sentence (shown
    translated by the `stored_message` filter), else the exception's type and text."""
    if isinstance(error, ApplicationError):
        return str(error)
    return f"{type(error).__name__}: {error}"
