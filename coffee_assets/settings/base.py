"""The settings' machinery: a group of environment variables as a pydantic-settings model,
read from the environment or a mapping given in its place, its errors one line naming the
variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""

    __module__ = "coffee_assets.settings"  # where users import it from, as tracebacks name it


# The environment `read` is reading (os.environ or a mapping given in its place); None outside it.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("coffee_environ", default=None)


class EnvironmentSource(PydanticBaseSettingsSource):
    """The variables of the environment `read` is reading, by the fields' aliases: a blank value
    counts as unset, surrounding spaces go. Nothing outside `read`: a model built directly holds
    the values given and the defaults, whatever the process's environment (a test's `Settings`
    never picks up another test's variables)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env = _ENVIRON.get()
        variable = field.validation_alias
        if env is None or not isinstance(variable, str):
            return None, field_name, False
        return (env.get(variable) or "").strip() or None, variable, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


class EnvSettings(BaseSettings):
    """A group of environment variables: each field's alias is the variable's name.

    `from_env` reads them from the environment, or from a mapping given in its place (and then
    from nothing else). Built directly (`Settings(data_dir=...)`), a model holds the values
    given and the defaults: what tests and benchmarks build. Either way a bad value is a
    `SettingsError` naming its variable."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        str_strip_whitespace=True,
        validate_by_name=True,
        validate_by_alias=True,
        arbitrary_types_allowed=True,
        # The defaults are right as written; checking the cron's would import Dagster (~1 s).
        validate_default=False,
    )
    # What the error of missing required variables says ({names}: theirs).
    missing_message: ClassVar[str] = "{names} must be set"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(type(self).describe_error(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The values given first, then the environment being read; no .env or secrets files
        (the scripts and dg read .env into the environment)."""
        del env_settings, dotenv_settings, file_secret_settings  # replaced, not read
        return init_settings, EnvironmentSource(settings_cls)

    @classmethod
    @cache
    def env_names(cls) -> dict[str, str]:
        """{environment variable: field name} of the variables this model reads."""
        return {
            str(field.validation_alias): name
            for name, field in cls.model_fields.items()
            if isinstance(field.validation_alias, str)
        }

    @classmethod
    def default_of(cls, variable: str) -> Any:
        """The default of the field that reads this environment variable (None when the
        variable is required)."""
        field = cls.model_fields[cls.env_names()[variable]]
        return None if field.is_required() else field.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The model of the variables set in `environ` (the environment's when None), checked;
        nothing else is read."""
        token = _ENVIRON.set(os.environ if environ is None else environ)
        try:
            return cls()
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def describe_error(cls, exc: ValidationError) -> str:
        """The first problem, in one line naming the variable (the validators' own words where
        they have them)."""
        variables = {name: variable for variable, name in cls.env_names().items()}
        errors = exc.errors()
        missing = [
            variables.get(str(e["loc"][0]), str(e["loc"][0]))
            for e in errors
            if e["type"] == "missing" and e["loc"]
        ]
        if missing:
            return cls.missing_message.format(names=", ".join(missing))
        error = errors[0]
        if error["type"] == "value_error":
            return str(error["ctx"]["error"])
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = variables.get(field, field)
        kind = {"int_parsing": "int", "float_parsing": "float"}.get(error["type"])
        if kind:
            return f"{variable}={error['input']!r} is not a valid {kind}"
        return f"{variable}={error['input']!r}: {error['msg']}"


def whole_number(variable: str, value: Any, low: int, high: int, what: str) -> int:
    """`value` as a whole number from `low` to `high`, surrounding spaces aside; else the error
    says it is not `what`."""
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{variable}={text!r} is not {what}")
    return int(text)


def one_of(variable: str, value: Any, choices: tuple[str, ...]) -> str:
    """`value`, case and surrounding spaces aside, when it is one of `choices`."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ValueError(f"{variable}={text!r}: expected one of {', '.join(choices)}")
    return text


def env_field(variable: str, default: Any, description: str) -> Any:
    """A field read from the environment variable `variable`."""
    return Field(default, validation_alias=variable, description=description)


# A web address: http(s), a host, an optional port and path.
_URL = re.compile(r"https?://[^\s/:?#]+(:[0-9]{1,5})?([/?#]\S*)?")


def check_url(variable: str, value: str, what: str) -> str:
    match = _URL.fullmatch(value)
    port = int(match.group(1)[1:]) if match and match.group(1) else 80
    if not match or not 0 < port < 65536:
        raise ValueError(
            f"{variable}={value!r} is not {what} (http:// or https://, a host, a path)"
        )
    return value
