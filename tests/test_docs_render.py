"""The documentation as a reader sees it (issue 26, item 12), checked without building it.

* Every public estimator's objective is maths (``.. math::``), not LaTeX source in a
  literal block (``::``): the API pages showed raw LaTeX, cut off on the right.
* Every table of the user guide has a one-row header (the task-relations table's
  header split over two rows).
* The gallery's configuration writes no page that loads from the network
  (sphinx-gallery's ``sg_execution_times`` pages load jQuery and DataTables from CDNs).
"""

import inspect
import re
import runpy
from pathlib import Path

import pytest

import mtlreg

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _literal_blocks(doc):
    """The indented blocks that follow a line ending in ``::`` in a docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::") or line.strip().startswith(".."):
            continue
        indent = len(line) - len(line.lstrip())
        block = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            block.append(nxt)
        blocks.append("\n".join(block))
    return blocks


def test_the_scan_finds_latex_in_a_literal_block():
    doc = "Minimises::\n\n    \\sum_t \\frac{a}{b}\n\nwith\n\n.. math::\n\n    \\alpha\n"
    assert _literal_blocks(doc) == ["\n    \\sum_t \\frac{a}{b}\n"]


@pytest.mark.parametrize("name", sorted(n for n in mtlreg.__all__
                                        if inspect.isclass(getattr(mtlreg, n))))
def test_no_latex_source_in_a_literal_block(name):
    doc = getattr(mtlreg, name).__doc__ or ""
    latex = [b for b in _literal_blocks(doc) if re.search(r"\\[a-zA-Z]+", b)]
    assert not latex, f"{name}: write the maths in a '.. math::' block:\n{latex[0]}"


def _tables(path):
    import docutils.core
    import docutils.nodes

    tree = docutils.core.publish_doctree(
        path.read_text(), settings_overrides={"report_level": 5, "halt_level": 5})
    return list(tree.findall(docutils.nodes.table))


def test_the_table_check_sees_a_two_row_header(tmp_path):
    pytest.importorskip("docutils")
    rst = tmp_path / "t.rst"
    rst.write_text("======  ======\nname    value\n(unit)\n======  ======\na       1\n"
                   "======  ======\n")
    (table,) = _tables(rst)
    assert len(table.next_node(_thead()).children) == 2


def _thead():
    import docutils.nodes

    return docutils.nodes.thead


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.rst")))
def test_every_table_has_a_one_row_header(page):
    pytest.importorskip("docutils")
    for table in _tables(DOCS / page):
        head = table.next_node(_thead())
        assert head is None or len(head.children) == 1, (
            f"{page}: a table header of {len(head.children)} rows: {head.astext()[:200]}")


def test_the_gallery_writes_no_page_that_loads_from_the_network(tmp_path):
    gen_gallery = pytest.importorskip("sphinx_gallery.gen_gallery")
    conf = runpy.run_path(str(DOCS / "conf.py"))["sphinx_gallery_conf"]
    gallery_conf = {**gen_gallery.DEFAULT_GALLERY_CONF, **conf, "src_dir": str(tmp_path)}
    gen_gallery.write_computation_times(gallery_conf, str(tmp_path), [])
    gen_gallery.write_computation_times(gallery_conf, None, [])
    for path in tmp_path.rglob("*"):
        text = path.read_text()
        assert not re.search(r"<(script|link)[^>]*(src|href)=\"https?://", text), path


def test_an_example_that_does_not_converge_stops_the_build(tmp_path):
    """The gallery runs with the docs' ``reset_modules``: an example whose fit warns
    ``ConvergenceWarning`` fails the build (the neural example printed ten, each with
    the build machine's path, into its page)."""
    import subprocess
    import sys

    pytest.importorskip("sphinx_gallery")
    conf = runpy.run_path(str(DOCS / "conf.py"))["sphinx_gallery_conf"]
    (tmp_path / "ex").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "ex" / "README.txt").write_text("Gallery\n=======\n")
    (tmp_path / "ex" / "plot_warn.py").write_text(
        '"""\nA fit that stops early\n======================\n"""\nimport warnings\n\n'
        "from sklearn.exceptions import ConvergenceWarning\n\n"
        'warnings.warn("did not converge", ConvergenceWarning)\n')
    (tmp_path / "src" / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   auto/index\n")
    (tmp_path / "src" / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS)!r})\n"
        'extensions = ["sphinx_gallery.gen_gallery"]\n'
        f'sphinx_gallery_conf = {{"examples_dirs": "../ex", "gallery_dirs": "auto", '
        f'"abort_on_example_error": True, "write_computation_times": False, '
        f'"reset_modules": {conf.get("reset_modules", ("matplotlib",))!r}}}\n')
    res = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", "src", "out"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0 and "did not converge" in res.stdout + res.stderr, (
        res.returncode, res.stderr[-2000:])


_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


def test_the_readme_counts_the_gallery():
    """The README said "the eight examples" when the gallery had eleven."""
    readme = (DOCS.parent / "README.md").read_text()
    stated = re.findall(r"\b(\w+) gallery examples\b", readme)
    assert stated, "the README's Documentation section names the number of gallery examples"
    count = len(list((DOCS.parent / "examples").glob("plot_*.py")))
    for word in stated:
        n = int(word) if word.isdigit() else _NUMBERS[word.lower()]
        assert n == count, f"the README says {word} gallery examples; examples/ has {count}"
