"""Languages of the touchscreen: gettext ``.po`` catalogs, Simplified Chinese first, English by switch.

The catalogs are read directly from their ``.po`` text by a small loader (no compile step, so a
translator's edit shows at the next start). Source strings (msgids) are English; the English catalog may
leave a msgstr empty, which means "the msgid as it is". Mark strings for extraction with :func:`N_` where
they are defined and translate them with :meth:`Translator.gettext` where they are shown.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterable, Iterator
from pathlib import Path

from kiosk.core.errors import ConfigError

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "kiosk"


class Language(enum.StrEnum):
    """The languages the screen speaks; the first is the default."""

    ZH = "zh_CN"
    EN = "en"

    @property
    def other(self) -> Language:
        """The language the switch button offers."""
        return Language.EN if self is Language.ZH else Language.ZH


def N_(msgid: str) -> str:
    """Mark ``msgid`` as a catalog string without translating it (it is translated when shown)."""
    return msgid


def _unquote(token: str, path: Path, number: int) -> str:
    """One quoted .po string: C-style escapes, which Python's literal syntax reads the same way."""
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ConfigError(f"{path}:{number}: expected a quoted string, found {token!r}")
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError) as exc:
        raise ConfigError(f"{path}:{number}: bad string {token!r}: {exc}") from exc
    if not isinstance(value, str):
        raise ConfigError(f"{path}:{number}: bad string {token!r}")
    return value


def parse_po(lines: Iterable[str], path: Path = Path("<po>")) -> dict[str, str]:
    """The msgid → msgstr pairs of a .po file (header and empty translations left out)."""
    catalog: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            key, value = "".join(msgid), "".join(msgstr)
            if key and value:
                catalog[key] = value

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [_unquote(line[6:], path, number)], None
            current = msgid
        elif line.startswith("msgstr "):
            if msgid is None:
                raise ConfigError(f"{path}:{number}: msgstr without a msgid")
            msgstr = [_unquote(line[7:], path, number)]
            current = msgstr
        elif line.startswith('"'):
            if current is None:
                raise ConfigError(f"{path}:{number}: a string continues nothing")
            current.append(_unquote(line, path, number))
        else:
            raise ConfigError(f"{path}:{number}: not understood (only msgid/msgstr entries are used): {line!r}")
    flush()
    return catalog


def catalog_path(language: Language, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where a language's catalog lives."""
    return locale_dir / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalog(language: Language, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """A language's translations; a missing catalog is an error (the screen would show English to everyone)."""
    path = catalog_path(language, locale_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"the {language.value} catalog {path} cannot be read: {exc}") from exc
    return parse_po(text.splitlines(), path)


class Translator:
    """Every catalog, loaded once, and the language in use."""

    def __init__(self, language: Language = Language.ZH, locale_dir: Path = LOCALE_DIR) -> None:
        self.catalogs = {lang: load_catalog(lang, locale_dir) for lang in Language}
        self.language = language

    def gettext(self, msgid: str, language: Language | None = None) -> str:
        """``msgid`` in ``language`` (default: the one in use); the msgid itself when not translated."""
        return self.catalogs[language or self.language].get(msgid, msgid)

    def missing(self, msgids: Iterable[str], language: Language = Language.ZH) -> list[str]:
        """The msgids with no translation in ``language`` (the tests require none for Chinese)."""
        return [m for m in msgids if m not in self.catalogs[language]]

    def __iter__(self) -> Iterator[Language]:
        return iter(self.catalogs)
