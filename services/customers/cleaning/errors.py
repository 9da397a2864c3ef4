"""The error every cleaning function raises, and the per-field issue a whole-record clean collects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One field's reason for rejecting a record: `loc` is the field ("email", "attributes.level")."""

    loc: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        """The issue as a problem+json `errors[]` item."""
        return {"loc": self.loc, "msg": self.msg}


class CleaningError(ValueError):
    """A value that cannot be normalised, naming the field so an API can answer `errors: [{loc, msg}]`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_issue(self) -> FieldIssue:
        """The error as the issue `clean_customer` reports."""
        return FieldIssue(loc=self.field, msg=self.message)
