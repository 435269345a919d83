"""TensorFlow `fit`'s per-call cost: tf.data's iterator teardown, without Keras.

bench/RESULTS.md lists a per-call cost of TensorFlow's `fit` that other
backends do not pay: some calls return 0.3 s to seconds after their last step
(`on_train_end` included). A native stack taken then shows the main thread in
the destructor of the epoch's tf.data iterator (`RootDataset::Iterator`),
waiting for one of tf.data's own threads. This script shows the same wait with
tf.data alone: an iterator is drawn from for a few elements, `gap` seconds
apart (a training step's time), then deleted, with tf.data's autotuning on
(the default, and what Keras's pipelines run under) and off.

    python bench/tfdata_teardown.py [--trials=12] [--gaps=0.05,0.3,1.0]
"""

import argparse
import time

import tensorflow as tf


def teardown_seconds(gap, autotune, elements=3):
    dataset = tf.data.Dataset.range(elements).map(
        lambda i: tf.zeros([256, 28, 28, 1]) + tf.cast(i, tf.float32),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)
    if not autotune:
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = dataset.with_options(options)
    iterator = iter(dataset)
    for _ in range(elements):
        next(iterator)
        time.sleep(gap)
    start = time.perf_counter()
    del iterator
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--gaps", default="0.05,0.3,1.0", help="seconds between elements, comma list")
    args = p.parse_args()
    print("gap s | autotune | slow deletions (> 50 ms) | max deletion s")
    for gap in (float(g) for g in args.gaps.split(",")):
        for autotune in (True, False):
            times = [teardown_seconds(gap, autotune) for _ in range(args.trials)]
            slow = sum(t > 0.05 for t in times)
            print(f"{gap} | {'on' if autotune else 'off'} | {slow}/{args.trials} | {max(times):.3f}", flush=True)


if __name__ == "__main__":
    main()
