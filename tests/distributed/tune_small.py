"""A small `kerasreg.tuning.grid_search` run by one process of a distributed search.

Start it once per process with KerasTuner's environment variables (the
README shows how): `KERASTUNER_TUNER_ID=chief` for the process that holds
the oracle, a unique id such as `tuner0` for each worker, and the same
`KERASTUNER_ORACLE_IP` / `KERASTUNER_ORACLE_PORT` everywhere. Each process
writes the grid points of its table, one per line, to the file it is given:
the chief's lists every trial, a worker's the trials it trained.
"""

import json
import sys

GRID = {"learning_rate": [0.3, 0.1, 0.03, 0.01], "units": [8]}


def build(learning_rate, units):
    import keras
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(units, "relu"),
                              keras.layers.Dense(10, "softmax")])
    model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main(out):
    from sklearn.datasets import load_digits

    from kerasreg.tuning import grid_search
    x, y = load_digits(return_X_y=True)
    table = grid_search(build, GRID, (x[:200] / 16).astype("float32"), y[:200], epochs=1,
                        verbose=0)
    with open(out, "w") as file:
        for row in table:
            file.write(json.dumps({name: row[name] for name in GRID}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
