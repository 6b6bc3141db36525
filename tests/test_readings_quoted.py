"""The four readings of a study are defined once, in ``studies.MEANING``; the lesson that teaches
the rule (05), the glossary, the lecturer's guide, docs/studies.md and data/studies/README.md quote
each definition word for word, so that a change of the rule fails here until they follow."""

import pytest
from helpers import prose

from lapsrn_edu import studies

QUOTING = [
    "tools/notebooks/05_study_residual_learning.md",
    "lapsrn_edu/course/pages/glossary.md",
    "lapsrn_edu/course/instructor/guide.md",
    "docs/studies.md",
    "data/studies/README.md",
]


@pytest.mark.parametrize("path", QUOTING)
def test_every_reading_is_quoted_word_for_word(path):
    text = prose(path)
    missing = [name for name, meaning in studies.MEANING.items() if meaning not in text]
    assert not missing, f"{path} does not quote studies.MEANING for {missing} word for word"
    assert "within noise" not in text.lower(), f"{path} still names the old rule's reading"


def test_the_readings_are_the_four_the_rule_gives():
    assert tuple(studies.MEANING) == studies.READINGS
