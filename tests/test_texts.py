"""The message catalogues: the same keys and typed variables in every language, every
message rendered for the counts where plural rules differ, right-to-left text laid out
in reading order (python-bidi runs the Unicode bidi algorithm as clients do), and no
English inside Arabic except what a user types (commands and their keywords)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel import Locale
from bidi import get_display
from fluent.syntax import ast as ftl

from bot.texts import LANGUAGES, t
from bot.texts.catalogue import KINDS, REFERENCE, kinds, messages, variables
from bot.texts.scripts import dominant_script, script_name
from bot.texts.worded import UNEXPECTED, Worded, said

COUNTS = (0, 1, 2, 3, 11, 100, 101)
FSI, PDI = "\u2068", "\u2069"
# Words a user types after a command (/retrain append, /generations user 12 model 2),
# the file extension .txt and the encoding an editor offers (UTF-8): they stay Latin in
# every language, as the user must type or pick them.
TYPED_WORDS = {"append", "cancel", "finetune", "fresh", "user", "model", "txt", "UTF"}
COMMAND = re.compile(r"/[a-z_]+")
# errors raised with a catalogue message (bot.texts.worded): the key is their first argument
WORDED = dict.fromkeys(
    ("Worded", "TextRefused", "DownloadError", "CorpusStoreError", "CheckpointRefused",
     "ActiveVersionError"), 0,
)  # fmt: skip


def sample(name: str, kind: str, count: int, rtl: bool) -> object:
    """A value of each kind; names in the catalogue's own script, so any Latin word left
    in an Arabic reply is the catalogue's."""
    return {
        "number": count,
        "id": 1234567,
        "date": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        "name": "سارة" if rtl else "Ann",
        "value": "0.8",
        # a run's state is a keyword the catalogue translates; other text is the bot's own
        "text": "succeeded" if name == "state" else ("نص" if rtl else "text"),
    }[kind]


def rendered(language: str, key: str, count: int) -> str:
    rtl = Locale.parse(language).character_order == "right-to-left"
    values = {name: sample(name, kind, count, rtl) for name, kind in kinds()[key].items()}
    return t(language, key, **values)


def plain(text: str) -> str:
    return text.replace(FSI, "").replace(PDI, "")


def number_selects(message: ftl.Message) -> list[ftl.SelectExpression]:
    found: list[ftl.SelectExpression] = []

    def walk(node: object) -> None:
        if isinstance(node, ftl.SelectExpression):
            found.append(node)
        if isinstance(node, ftl.BaseNode):
            for value in vars(node).values():
                for child in value if isinstance(value, list) else [value]:
                    walk(child)

    walk(message)
    return found


def test_there_is_a_reference_and_an_arabic_catalogue() -> None:
    assert REFERENCE == "en" and set(LANGUAGES) >= {"en", "ar"}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != REFERENCE])
def test_every_catalogue_has_the_same_keys_and_variables(language: str) -> None:
    reference, other = messages(REFERENCE), messages(language)
    assert sorted(other) == sorted(reference)
    differ = [
        key
        for key in reference
        if variables(other[key], other) != variables(reference[key], reference)
    ]
    assert differ == []


def test_every_variable_is_typed_in_the_reference_catalogue() -> None:
    reference = messages(REFERENCE)
    for key, message in reference.items():
        declared = kinds()[key]
        assert set(declared) == variables(message, reference), key
        assert set(declared.values()) <= KINDS, key


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("count", COUNTS)
def test_every_message_renders_for_every_count(language: str, count: int) -> None:
    for key in messages(REFERENCE):
        text = rendered(language, key, count)
        assert text.strip(), key
        assert "{" not in text and "$" not in text, (key, text)  # nothing left unfilled
        depth = 0
        for ch in text:  # every isolate closed, in order
            depth += (ch == FSI) - (ch == PDI)
            assert depth >= 0, key
        assert depth == 0, key


def test_arabic_count_selections_have_all_six_cldr_forms() -> None:
    for key, message in messages("ar").items():
        for select in number_selects(message):
            selector = select.selector
            if not isinstance(selector, ftl.VariableReference):
                continue
            if kinds()[key].get(selector.id.name) != "number":
                continue
            names = {v.key.name for v in select.variants if isinstance(v.key, ftl.Identifier)}
            assert names == {"zero", "one", "two", "few", "many", "other"}, key


@pytest.mark.parametrize(
    ("count", "arabic", "english"),
    [
        (0, "0 حرف", "0 characters"),
        (1, "حرف واحد", "one character"),
        (2, "حرفين", "2 characters"),  # after a preposition: the genitive dual
        (3, "3 أحرف", "3 characters"),  # 3-10: the plural
        (11, "11 حرفا", "11 characters"),  # 11-99: the accusative singular
        (100, "100 حرف", "100 characters"),  # 100 and up: the genitive singular
        (101, "101 حرف", "101 characters"),
    ],
)
def test_a_length_takes_the_noun_form_of_its_count(count: int, arabic: str, english: str) -> None:
    assert plain(t("ar", "length_set", length=count)) == f"ضبطت الطول على {arabic}."
    assert t("en", "length_set", length=count) == f"Length set to {english}."


@pytest.mark.parametrize(
    ("count", "arabic"),
    [
        (1, "نص واحد"),
        (2, "نصان"),  # a predicate: the nominative dual
        (3, "3 نصوص"),
        (11, "11 نصا"),
        (100, "100 نص"),
        (101, "101 نص"),
    ],
)
def test_generation_counts_agree_in_arabic(count: int, arabic: str) -> None:
    assert plain(t("ar", "export_caption", rows=count)) == arabic


def test_english_counts_of_one_are_singular() -> None:
    assert t("en", "history_header", count=1) == "Your last generation:"
    assert t("en", "forget_done", count=1).startswith("Done: I deleted one generation ")
    assert t("en", "history_header", count=2) == "Your last 2 generations, newest first:"


def test_ids_and_years_are_never_grouped_but_counts_are() -> None:
    text = t("en", "models_item", version=12345, active="", when="2026-01-02 03:04",
             corpus="corpus #7", chars=146973, vocab=50, val="1.2")  # fmt: skip
    assert text.startswith("#12345 · 2026-01-02 03:04 · corpus #7 (146,973 chars)")
    assert t("en", "access_allowed", user_id=1234567890) == ("User 1234567890 may use the bot now.")


def test_right_to_left_replies_show_values_in_reading_order() -> None:
    """What a client draws (python-bidi's visual order), left to right on screen."""
    out_of_range = get_display(t("ar", "temp_out_of_range", value="-1", tmin="0.1", tmax="2"))
    assert "-1" in out_of_range and "1-" not in out_of_range
    # Without the isolates the same sentence shows "1-": the check can tell.
    assert "1-" in get_display("القيمة -1 خارج المجال")
    run = get_display(t("ar", "rt_starting", run=12))
    assert "#12" in run and "12#" not in run
    when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    line = get_display(t("ar", "history_item", index=1, when=when, temperature="0.8", seed="x"))
    assert "2026-01-02 03:04" in line
    named = get_display(t("ar", "users_item", user_id=42, name="Ann Lee (@ann)",
                          generations=3, when="2026-01-02 03:04"))  # fmt: skip
    assert "Ann Lee (@ann)" in named and "2026-01-02 03:04" in named


def test_no_english_word_in_an_arabic_reply_except_commands() -> None:
    found = {}
    for key in messages("ar"):
        for count in (1, 3):
            words = set(re.findall(r"[A-Za-z]+", COMMAND.sub("", rendered("ar", key, count))))
            if words - TYPED_WORDS:
                found[key] = words - TYPED_WORDS
    assert found == {}


def test_an_arabic_model_names_its_script_in_the_readers_language() -> None:
    code = dominant_script("في صباح يوم جميل، abc 123")
    assert code == "Arab"
    assert script_name("en", code) == "Arabic" and script_name("ar", code) == "العربية"
    assert dominant_script("123 !?") is None


def test_every_call_names_a_message_and_gives_its_variables() -> None:
    """Read from the source: a wrong key or a missing value would be an error at run time
    (the catalogue refuses to render half a message), so no call may have one."""
    declared = kinds()
    problems = []
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            position = {"t": 1, "reply_key": 1, "say": 0, **WORDED}.get(str(name))
            if position is None or len(node.args) <= position:
                continue
            key = node.args[position]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue  # a computed key (f"cmd_{name}"): those messages take no values
            where = f"{path.name}:{node.lineno} {key.value}"
            if key.value not in declared:
                problems.append(f"{where}: no such message")
            elif all(kw.arg is not None for kw in node.keywords):
                given = {kw.arg for kw in node.keywords}
                if given != set(declared[key.value]):
                    problems.append(f"{where}: gives {sorted(given)}")
    assert problems == []


def test_a_stored_cause_is_said_in_the_readers_language() -> None:
    stored = Worded("startup_default_fallback", version=3, cause=Worded("checkpoint_missing"),
                    serving=1).stored()  # fmt: skip
    assert said(None, stored).startswith("Model version 3 could not be loaded at start-up: its")
    assert "ملفه مفقود" in said("ar", stored)
    # a row from before causes were keys (or model/'s English): as it is, or by its kind
    assert said("en", "the bot stopped during training") == "the bot stopped during training"
    assert said("ar", "the bot stopped during training") == t("ar", UNEXPECTED)
    # a key a newer release stored during a rolling upgrade
    assert said("en", '{"key": "not_yet", "values": {}}') == t("en", UNEXPECTED)
