"""How much `import kerasreg` adds to `import keras` (target: under 0.5 s)."""

from _timing import python_seconds, verdict

keras_only = python_seconds("import keras")
with_kerasreg = python_seconds("import keras, kerasreg")
added = with_kerasreg - keras_only
print(f"import: keras {keras_only:.2f} s, keras + kerasreg {with_kerasreg:.2f} s, "
      f"added {added:.3f} s, ratio {with_kerasreg / keras_only:.2f}x "
      f"(target: added < 0.5 s): {verdict(added < 0.5)}")
