"""The library installs without the course kit: its modules import and run with the
`course` and `tuning` extras missing (their packages made unimportable in a fresh process)."""

import subprocess
import sys
import textwrap

EXTRAS = ("skimage", "nbclient", "nbformat", "ipykernel", "tqdm", "keras_tuner")
LIBRARY = ("layers", "augment", "callbacks", "curves", "inference", "initialization", "models",
           "preprocessing", "transfer", "tta")


def test_the_library_imports_and_trains_without_the_extras():
    code = textwrap.dedent(f"""
        import importlib.abc, sys

        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {EXTRAS!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (extra not installed)")

        sys.meta_path.insert(0, Missing())
        try:
            import skimage  # noqa: F401
            raise SystemExit("the extras are not blocked")
        except ModuleNotFoundError:
            pass
        import importlib
        import numpy as np
        import keras
        for module in {LIBRARY!r}:
            importlib.import_module(f"kerasreg.{{module}}")
        from kerasreg import augment, callbacks, layers, models
        model = models.resnet(depth=8, width=4, input_shape=(8, 8, 3), final_survival=0.5,
                              norm="group")
        model.compile("adam", "sparse_categorical_crossentropy")
        x = augment.pipeline(["flip", ("cutout", {{"size": 2}})], seed=0)(np.ones((4, 8, 8, 3)))
        model.fit(x, np.arange(4), epochs=2, verbose=0, callbacks=[callbacks.EarlyStopping()])
        print("library ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "library ok" in result.stdout
