"""Sphinx configuration for the mtlreg documentation.

Build (from the repository root; the README names this command):

    pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing is downloaded, neither by the build nor by a reader's browser: no
intersphinx, the theme's assets ship with the pydata-sphinx-theme wheel, and
MathJax 3 ships with the ``sphinx-mathjax-offline`` wheel, which copies it into
``_build/html/_static/mathjax`` (so the maths renders offline, too).
"""

import os
import sys
import warnings
from datetime import date

import matplotlib

matplotlib.use("Agg")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)  # gallery_checks

import mtlreg  # noqa: E402

project = "mtlreg"
author = "mtlreg developers"
copyright = f"{date.today().year}, {author}"
release = mtlreg.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # (sic: the module name has dashes) local MathJax 3
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "**.codeobj.json",
                    # left by a build before write_computation_times was off (below)
                    "sg_execution_times.rst", "auto_examples/sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc -------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
numpydoc_show_class_members = False  # methods are listed by the class template
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# numpydoc's docstring validation is off: under -W its style nits (e.g. a missing
# "Returns" section in a one-line method docstring) would fail the build.
numpydoc_validation_checks = set()

# -- sphinx-gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(ROOT, "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every plot_*.py is executed at every build
    "within_subsection_order": "sphinx_gallery.sorting.ExampleTitleSortKey",
    "doc_module": ("mtlreg",),
    "backreferences_dir": "generated",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    # before every example: a ConvergenceWarning stops the build (docs/gallery_checks.py)
    "reset_modules": ("matplotlib", "gallery_checks.no_convergence_warnings"),
    "plot_gallery": "True",
    "run_stale_examples": True,  # execute every example at every build, even if unchanged
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 0,
    # no sg_execution_times pages: sphinx-gallery writes into them <script>/<link> tags
    # that load jQuery, DataTables and Bootstrap from CDNs, and nothing may be fetched
    # (each example's page still ends with its running time)
    "write_computation_times": False,
}

# examples print other warnings to their own output; keep the build log clean
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")

# -- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mtlreg {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    # the gallery pages use the whole width for code and figures
    "secondary_sidebar_items": {"*": ["page-toc"], "generated/*": ["page-toc"],
                                "auto_examples/*": []},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # no icon links, no version switcher, no analytics: nothing that needs the network
}
html_sidebars = {"index": [], "conversions": [], "add_penalty": []}
html_context = {"default_mode": "light"}
