"""CSV headers a hostile user brings: a column named twice (a reader renames one to x.1 without a word), a file
separated by semicolons (read as one column), and a tab-separated .tsv, which is read as such."""

from __future__ import annotations

import pytest

from pipelines.data.load import load, resolve
from pipelines.errors import DataError
from tests.flows.cli.test_cli import assert_user_error, devicepipe


def test_a_column_named_twice_is_refused_naming_it(tmp_path):
    (tmp_path / "t.csv").write_text("x,x,z,z,y\n1,2,3,4,0\n5,6,7,8,1\n")
    result = devicepipe("run", "--data", "t.csv", "--target", "y", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "more than one column named 'x', 'z'", "Rename the repeated columns")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


@pytest.mark.parametrize(("separator", "what"), [(";", "semicolons"), ("|", "vertical bars")])
def test_a_file_of_another_separator_says_so(tmp_path, separator, what):
    (tmp_path / "t.csv").write_text(separator.join("aby") + "\n" + separator.join("120") + "\n")
    with pytest.raises(DataError, match=rf"read as one column, 'a\{separator}?b.*separated by {what}"):
        resolve(tmp_path / "t.csv")


def test_a_tsv_file_is_read_tab_separated(tmp_path, cpu):
    (tmp_path / "t.tsv").write_text("a\tb\ty\n1\tx y\t0\n2\tz\t1\n")
    source = resolve(tmp_path / "t.tsv")
    assert source.columns == ["a", "b", "y"]
    frame = load(source, cpu)
    assert list(frame.columns) == ["a", "b", "y"] and frame["b"].tolist() == ["x y", "z"]
