"""The LibreOffice help languages that pair with English, in one table.

Each is a Debian package (`libreoffice-help-<code>`, all of bookworm's 7.4 release) whose HTML
help sits under `usr/share/libreoffice/help/<dir>`, with the same pages and element ids as the
English one. `letters` is the script that tells the language from English where the two scripts
differ; for Latin-script languages it is None and a language identifier decides
(`koen.data.helpdocs.translated`), under the code `langid` that py3langid uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from koen.errors import KoenError

HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: Ext. A, unified, compat.
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana (+ ext., half-width)
HAN = re.compile(f"[{_HAN}]")
KANA_HAN = re.compile(f"[{_KANA}{_HAN}]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@dataclass(frozen=True)
class HelpLanguage:
    code: str  # --lang, the record key and the folder data/help/<code>-en
    package: str
    help_dir: str  # inside the package
    letters: re.Pattern[str] | None  # None: Latin script, told from English by langid
    langid: str  # py3langid's code


def _debian(code: str, letters: re.Pattern[str] | None = None, *, help_dir: str = "",
            langid: str = "") -> HelpLanguage:
    return HelpLanguage(code, f"libreoffice-help-{code}",
                        f"usr/share/libreoffice/help/{help_dir or code}", letters,
                        langid or code)


ENGLISH = _debian("en-us", help_dir="en-US", langid="en")

# Each checked with `apt-cache policy` and `dpkg-deb -c` (Debian bookworm, 4:7.4.7-1+deb12u14).
LANGUAGES: dict[str, HelpLanguage] = {lang.code: lang for lang in (
    _debian("ko", HANGUL),
    _debian("ja", KANA_HAN),
    _debian("zh-cn", HAN, help_dir="zh-CN", langid="zh"),
    _debian("zh-tw", HAN, help_dir="zh-TW", langid="zh"),
    _debian("ru", CYRILLIC),
    _debian("de"),
    _debian("fr"),
    _debian("es"),
    _debian("it"),
    _debian("pt-br", help_dir="pt-BR", langid="pt"),
    _debian("vi"),
)}


class UnknownLanguage(KoenError, ValueError):
    """A help language the table does not hold."""


def help_language(code: str) -> HelpLanguage:
    """The table's entry for `code`; an unknown code fails naming the known ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise UnknownLanguage(f"no LibreOffice help language '{code}'; known: "
                              f"{', '.join(LANGUAGES)} (koen/data/languages.py)") from None
