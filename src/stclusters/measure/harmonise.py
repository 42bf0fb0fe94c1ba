"""Harmonise applicant and organisation names, so one organisation is counted once.

``SAMSUNG ELECTRONICS CO., LTD.``, ``Samsung Electronics Co Ltd`` and ``SAMSUNG
ELECTRONICS`` share one key and display as ``Samsung Electronics``; ``UNIV TOKYO`` and
``University of Tokyo`` share one key and display as ``University of Tokyo``. The key is
ASCII-folded, upper-case, without punctuation, legal forms, joining words (of, the, and)
and with common abbreviations expanded. The display name is the variant seen most often
(legal form removed), preferring ones not written in capitals only, without
abbreviations, with accents; a name seen only in capitals is title-cased except words of
three letters or fewer (``BMW``, ``ARM``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

from stclusters._columns import arrow_strings

__all__ = ["LEGAL_FORMS", "harmonise", "name_key"]

# Legal-form tokens removed at the end of names (after punctuation is removed).
LEGAL_FORMS = [
    "CO LTD", "COMPANY LIMITED", "CO LIMITED", "LTD", "LIMITED", "INC", "INCORPORATED",
    "CORP", "CORPORATION", "CO", "COMPANY", "GMBH CO KG", "GMBH CO", "GMBH", "MBH", "AG", "KG",
    "SA", "S A", "SPA", "S P A", "SAS", "S A S", "SARL", "SRL", "S R L", "BV", "B V", "NV",
    "N V", "PLC", "LLC", "L L C", "LLP", "LP", "KK", "K K", "AB", "PUBL", "OY", "OYJ", "AS",
    "A S", "ASA", "APS", "PTY", "PTE", "PVT", "PRIVATE", "SE", "KGAA", "SL", "S L", "SDN BHD",
    "BHD", "TBK", "JSC", "OJSC", "PJSC", "OOO", "ZAO", "GIE", "SCA", "CV", "DE CV",
    "AKTIENGESELLSCHAFT", "GESELLSCHAFT MIT BESCHRANKTER HAFTUNG", "KABUSHIKI KAISHA",
    "SOCIETE ANONYME", "SOCIEDAD ANONIMA", "AKTIEBOLAG", "AKTIEBOLAGET", "NAAMLOZE VENNOOTSCHAP",
]
LEADING_FORMS = ["KABUSHIKI KAISHA", "AKTIEBOLAGET", "KK"]
ABBREVIATIONS = {
    "UNIV": "UNIVERSITY", "UNIVERSIDAD": "UNIVERSITY", "UNIVERSITAT": "UNIVERSITY",
    "UNIVERSITAET": "UNIVERSITY", "UNIVERSITE": "UNIVERSITY", "UNIVERSITA": "UNIVERSITY",
    "INST": "INSTITUTE", "INSTITUT": "INSTITUTE", "INSTITUTO": "INSTITUTE",
    "TECHNOL": "TECHNOLOGY", "TECH": "TECHNOLOGY", "NATL": "NATIONAL", "NAT": "NATIONAL",
    "LAB": "LABORATORY", "LABS": "LABORATORIES", "CTR": "CENTER", "CENTRE": "CENTER",
    "HOSP": "HOSPITAL", "MED": "MEDICAL", "SCI": "SCIENCE", "SCH": "SCHOOL",
    "COLL": "COLLEGE", "ACAD": "ACADEMY", "RES": "RESEARCH", "DEPT": "DEPARTMENT",
    "ELECT": "ELECTRIC", "ELECTR": "ELECTRONICS", "IND": "INDUSTRIES", "INTL": "INTERNATIONAL",
    "ST": "SAINT", "MFG": "MANUFACTURING", "CHEM": "CHEMICAL",
}
JOINING = {"OF", "THE", "AND", "DE", "DER", "DES", "DU", "LA", "LE", "DI", "DEL", "FUR", "FOR"}

_PUNCT = re.compile(r"[^0-9A-Z]+")
_LEGAL_TAIL = re.compile(
    r"(\s(" + "|".join(sorted({re.escape(f) for f in LEGAL_FORMS}, key=len, reverse=True))
    + r"))+$")
_DISPLAY_LEGAL = re.compile(
    r"[\s,]*(\(.*?\)\s*)?(" + "|".join(
        r"\b" + r"\.?\s*".join(re.escape(ch) for ch in form.replace(" ", "")) + r"\.?"
        for form in sorted(LEGAL_FORMS, key=len, reverse=True)) + r")(\s*[,.&]?\s*(" + "|".join(
        r"\b" + r"\.?\s*".join(re.escape(ch) for ch in form.replace(" ", "")) + r"\.?"
        for form in sorted(LEGAL_FORMS, key=len, reverse=True)) + r"))*[\s,.]*$",
    flags=re.IGNORECASE)


_LEGAL_HEAD = re.compile(r"^(" + "|".join(LEADING_FORMS) + r")\s+")


def name_key(names: pd.Series) -> pd.Series:
    """The grouping key of each name (see module docstring); NA for empty names.

    Worked out on each distinct name in Arrow: only names that are not ASCII pass through
    Python (``unidecode``); upper-casing, punctuation, legal forms, joining words,
    abbreviations and plurals are Arrow compute over all of them at once."""
    uniq = arrow_strings(pd.Series(names.dropna().unique(), dtype="string"))
    other = pc.invert(pc.string_is_ascii(uniq))
    folded = pa.array([unidecode(t) for t in uniq.filter(other).to_pylist()], pa.string())
    t = pc.ascii_upper(pc.replace_with_mask(uniq, other, folded))
    t = pc.ascii_trim_whitespace(pc.replace_substring_regex(t, _PUNCT.pattern, " "))
    t = pc.ascii_trim_whitespace(pc.replace_substring_regex(pc.binary_join_element_wise(
        " ", t, ""), _LEGAL_TAIL.pattern, ""))
    t = pc.ascii_trim_whitespace(pc.replace_substring_regex(t, _LEGAL_HEAD.pattern, ""))
    words = pc.ascii_split_whitespace(t)
    word = pc.list_flatten(words)
    owner = pc.list_parent_indices(words).to_numpy()
    keep = ~pc.is_in(word, pa.array(sorted(JOINING))).to_numpy(zero_copy_only=False) & (
        pc.binary_length(word).to_numpy() > 0)
    short, long_ = (pa.array(list(x)) for x in zip(*sorted(ABBREVIATIONS.items()), strict=True))
    at = pc.index_in(word, value_set=short)
    word = pc.if_else(pc.is_valid(at), pc.take(long_, at.fill_null(0)), word)
    # plurals of long words, crudely: TECHNOLOGIES -> TECHNOLOGY, ELECTRONICS -> ELECTRONIC
    # (more than 4 letters; not a double S)
    word = pc.replace_substring_regex(word, r"^(.{2,})IES$", r"\1Y")
    word = pc.replace_substring_regex(word, r"^(.{3,}[^S])S$", r"\1")
    counts = np.bincount(owner[keep], minlength=len(uniq))
    joined = pc.binary_join(pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(counts)], pa.int32()), word.filter(pa.array(keep))), " ")
    mapping = pd.Series(pd.array(joined, dtype="string"), index=pd.Index(uniq, dtype="string"))
    out = names.map(mapping).astype("string")
    return out.where(out.str.len() > 0)


def _display(variant: str) -> str:
    text = _DISPLAY_LEGAL.sub("", variant).strip(" ,.;")
    text = re.sub(r"^(" + "|".join(LEADING_FORMS) + r")\s+", "", text, flags=re.IGNORECASE)
    text = text or variant.strip()
    if text.upper() == text and any(c.isalpha() for c in text):
        words = [ABBREVIATIONS.get(w.rstrip("."), w) for w in text.split()]
        text = " ".join(w.title() if len(w) > 3 else w for w in words)
    return text


def harmonise(names: pd.Series) -> pd.DataFrame:
    """Key and display name for each input name (same index); NA where the name is empty.

    The display name of a key is taken from its most frequent variant, preferring one
    not written in capitals only; ties go to the alphabetically first.
    """
    # worked out once per distinct name: millions of credits carry a few hundred thousand
    code, distinct = pd.factorize(names.astype("string"))
    raw = pd.Series(distinct, dtype="string")
    raw_key = name_key(raw)

    def per_row(values: pd.Series) -> pd.Series:
        # taken in Arrow (a missing name takes null): no Python string per row
        rows = pa.array(code, mask=code < 0)
        return pd.Series(pd.array(pa.array(values.astype("string")).take(rows),
                                  dtype="string"), index=names.index)

    key = per_row(raw_key)
    counts = pd.DataFrame({"key": raw_key, "raw": raw,
                           "n": np.bincount(code[code >= 0], minlength=len(raw))}).dropna()
    if counts.empty:
        return pd.DataFrame({"key": key, "display": pd.Series(pd.NA, index=names.index,
                                                              dtype="string")})
    counts["caps"] = counts["raw"].str.upper() == counts["raw"]
    words = pc.ascii_split_whitespace(arrow_strings(
        counts["raw"].str.upper().str.replace(r"[^A-Z ]", " ", regex=True)))
    short = pc.is_in(pc.list_flatten(words), pa.array(sorted(ABBREVIATIONS)))
    counts["abbreviated"] = np.bincount(
        pc.list_parent_indices(words).to_numpy()[short.to_numpy(zero_copy_only=False)],
        minlength=len(counts)) > 0
    # accents kept are better
    counts["folded"] = pc.string_is_ascii(arrow_strings(counts["raw"])).to_numpy(
        zero_copy_only=False)
    counts = counts.sort_values(["key", "caps", "abbreviated", "folded", "n", "raw"],
                                ascending=[True, True, True, True, False, True], kind="stable")
    best = counts.drop_duplicates("key").set_index("key")["raw"]
    display = best.map(_display)
    return pd.DataFrame({"key": key, "display": per_row(raw_key.map(display))})
