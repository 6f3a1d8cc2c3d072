"""The languages a study can pair, in one table, and the pair `languages: [ko, en]` names.

Each language is written by its two-letter ISO 639-1 code, which names it everywhere: data
columns (`ko`, `en`), composition codes (`kokoen`), directions (`ko-en`) and the help folder
`data/help/<code>-en`. An entry says how its text is told from English (`letters`: its script
where the scripts differ; None for Latin script, where py3langid decides by the code), which
Unicode blocks its text uses beyond the common ones (the vocabulary trim keeps those pieces),
Lucene's analyser for it (Anserini's `-language`), its Belebele (FLORES-200) config, and its
LibreOffice help package in Debian (bookworm's 7.4 release; each checked with `apt-cache policy`
and `dpkg-deb -c`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from koen.config.parse import ParamsError

_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: Ext. A, unified, compat.
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana (+ ext., half-width)
HANGUL = re.compile(f"[{_HANGUL}]")
HAN = re.compile(f"[{_HAN}]")
KANA_HAN = re.compile(f"[{_KANA}{_HAN}]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")

Blocks = tuple[tuple[int, int], ...]
COMMON_BLOCKS: Blocks = (
    (0x0000, 0x00FF),  # Basic Latin, Latin-1 Supplement
    (0x2000, 0x2BFF),  # punctuation, super/subscripts, currency, letterlike, arrows, math, shapes
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # half- and full-width forms
)
HANGUL_BLOCKS: Blocks = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x3200, 0x32FF),  # enclosed CJK letters (circled Hangul)
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo Extended-B
)
HAN_BLOCKS: Blocks = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
KANA_BLOCKS: Blocks = ((0x3040, 0x30FF), (0x31F0, 0x31FF))
LATIN_BLOCKS: Blocks = ((0x0100, 0x024F), (0x0300, 0x036F))  # Latin Extended-A/B, diacritics
VIETNAMESE_BLOCKS: Blocks = (*LATIN_BLOCKS, (0x1E00, 0x1EFF))  # Latin Extended Additional
CYRILLIC_BLOCKS: Blocks = ((0x0400, 0x04FF),)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1: the data columns, composition codes and data/help/<code>-en
    name: str
    letters: re.Pattern[str] | None  # the script that tells it from English; None: Latin
    script: str  # the name of `letters`, for messages
    blocks: Blocks  # Unicode blocks beyond COMMON_BLOCKS its text uses (base_model.vocab)
    bm25: str  # Anserini's -language (Lucene's analyser)
    belebele: str  # Belebele's config (FLORES-200 code)
    help_dir: str  # the LibreOffice help's folder name: package libreoffice-help-<lower>

    @property
    def package(self) -> str:
        return f"libreoffice-help-{self.help_dir.lower()}"


ENGLISH = Language("en", "English", None, "Latin script", (), "en", "eng_Latn", "en-US")

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    Language("ko", "Korean", HANGUL, "Hangul", HANGUL_BLOCKS, "ko", "kor_Hang", "ko"),
    Language("ja", "Japanese", KANA_HAN, "kana or kanji", (*KANA_BLOCKS, *HAN_BLOCKS), "ja",
             "jpn_Jpan", "ja"),
    Language("zh", "Chinese (Simplified)", HAN, "Han characters", HAN_BLOCKS, "zh", "zho_Hans",
             "zh-CN"),
    Language("ru", "Russian", CYRILLIC, "Cyrillic", CYRILLIC_BLOCKS, "ru", "rus_Cyrl", "ru"),
    *(Language(code, name, None, "Latin script", LATIN_BLOCKS, code, flores, help_dir)
      for code, name, flores, help_dir in (
          ("de", "German", "deu_Latn", "de"), ("fr", "French", "fra_Latn", "fr"),
          ("es", "Spanish", "spa_Latn", "es"), ("it", "Italian", "ita_Latn", "it"),
          ("pt", "Portuguese (Brazil)", "por_Latn", "pt-BR"))),
    # Lucene has no Vietnamese analyser: English's (lower-casing; Porter leaves syllables be)
    Language("vi", "Vietnamese", None, "Latin script", VIETNAMESE_BLOCKS, "en", "vie_Latn", "vi"),
    ENGLISH,
)}


class LanguageError(ParamsError):
    """A language code the table does not hold, or a pair that is not two languages."""


def language(code: str) -> Language:
    """The table's entry for `code`; an unknown code fails naming the known ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise LanguageError(f"unknown language {code!r}; known: {', '.join(LANGUAGES)} "
                            "(koen/config/languages.py)") from None


@dataclass(frozen=True)
class Pair:
    """The two languages of a study: `lang` (studied) and `other` (contrasted with: English
    by default). Everything named after languages is built from the two codes."""

    lang: str
    other: str

    @classmethod
    def of(cls, codes: list[str] | tuple[str, ...]) -> Pair:
        if len(codes) != 2:
            raise LanguageError("name two languages, e.g. [ja, en]")
        for code in codes:
            language(code)
        if codes[0] == codes[1]:
            raise LanguageError("name two different languages")
        return cls(codes[0], codes[1])

    @property
    def codes(self) -> tuple[str, str]:
        return self.lang, self.other

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.other}"

    @property
    def compositions(self) -> tuple[str, ...]:
        """Every Query-Positive-Negative code, the study's grid order (`kokoko` .. `enenen`)."""
        return tuple("".join(c) for c in itertools.product(self.codes, repeat=3))

    @property
    def directions(self) -> dict[str, tuple[str, str]]:
        """Run name -> (query language, document language): the two cross-lingual ones, then
        the two mono-lingual ones."""
        a, b = self.codes
        return {f"{b}-{a}": (b, a), f"{a}-{b}": (a, b), f"{a}-{a}": (a, a), f"{b}-{b}": (b, b)}

    @property
    def clir(self) -> tuple[str, str]:
        return tuple(self.directions)[:2]  # type: ignore[return-value]

    @property
    def mono(self) -> tuple[str, str]:
        return tuple(self.directions)[2:]  # type: ignore[return-value]

    @property
    def multi(self) -> dict[str, str]:
        """The Multi pool's run names -> query language."""
        return {f"multi-{x}": x for x in self.codes}

    def twin(self, code: str) -> str:
        """The other language of the pair."""
        return self.other if code == self.lang else self.lang

    def blocks(self) -> Blocks:
        """The Unicode blocks text of the two languages uses (the vocabulary trim keeps the
        pieces made of them)."""
        return (*COMMON_BLOCKS, *(b for c in self.codes for b in LANGUAGES[c].blocks))


KO_EN = Pair("ko", "en")


def help_text_dir(code: str) -> Path:
    """Where the committed help text of `code` paired with English lies: Korean's in data/raw
    (the study's first data), every other language's in data/help/<code>-en."""
    return Path("data/raw") if code == "ko" else Path(f"data/help/{code}-en")
