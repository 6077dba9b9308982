"""The paper's figures are typed once, in `zoo.paper`, and each is in the paper's text."""
from pathlib import Path

import pytest

from dcgan_lib.zoo.paper import PAPER_FIGURES, paper_table

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "dcgan-radford-metz-chintala-2016.txt"


@pytest.mark.skipif(not PAPER.is_file(), reason="the paper's text sits in ../shared beside the repository")
def test_every_figure_is_the_papers():
    text = PAPER.read_text()
    missing = [(f.table, f.row, f.value) for f in PAPER_FIGURES if f"{f.value:g}" not in text]
    assert not missing


def test_a_table_reads_as_rows_of_columns_in_the_papers_order():
    table3 = paper_table("Table 3")
    assert list(table3) == ["AlignMNIST", "InfiMNIST", "Real data", "GAN", "DCGAN"]
    assert table3["DCGAN"] == {"@50K samples": 2.98, "@10M samples": 1.48}
    assert paper_table("Table 2")["DCGAN + L2-SVM"] == {"error": 22.48}
    assert paper_table("Table 9") == {}
