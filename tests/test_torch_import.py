"""The torch bridge is optional: ``import mtlreg`` never imports torch, and importing
``mtlreg.torch`` without torch says how to install it. Runs with or without torch."""

import subprocess
import sys


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_import_mtlreg_does_not_import_torch():
    out = _run("import sys, mtlreg, mtlreg.datasets, mtlreg.model_selection; "
               "print('torch' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_mtlreg_torch_without_torch_says_how_to_install():
    # a meta-path finder that refuses torch: "import torch" fails as if not installed
    out = _run("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name == 'torch' or name.startswith('torch.'):\n"
               "            raise ModuleNotFoundError(name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "try:\n    import mtlreg.torch\nexcept ImportError as e:\n    print(e)\n"
               "else:\n    print('imported')")
    assert out.returncode == 0, out.stderr
    assert "pip install torch==2.13.0" in out.stdout
    assert 'mtlreg[torch]' in out.stdout
