"""The LiverSeg U-Net (Sources/NeuralNet/Models/UNet.swift) in Keras 3 on TensorFlow, timed like
`liverseg bench unet`: inference (a tf.function of model(x, training=False)) and a training step (a
tf.function of forward, BCE with logits on random 0/1 targets, gradients, SGD with momentum 0.9),
float32, NHWC (TensorFlow's CPU convolutions support only channels-last), --threads intra-op threads."""
import unet_common as uc

args = uc.parse_args("Keras")
uc.set_thread_env(args.threads)
import os  # noqa: E402
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
keras.utils.set_random_seed(1)


def build(size, filters, depth, in_ch=1, classes=1, dropout=0.4):
    ch = [filters << l for l in range(depth + 1)]
    inp = keras.Input((size, size, in_ch))
    h = inp
    skips = []

    def two_conv(h, c):
        h = layers.Conv2D(c, 3, padding="same", activation="relu")(h)
        return layers.Conv2D(c, 3, padding="same", activation="relu")(h)

    for l in range(depth + 1):
        if l > 0:
            h = layers.MaxPooling2D(2)(h)
        h = two_conv(h, ch[l])
        skips.append(h)
    for l in range(depth - 1, -1, -1):
        u = layers.Conv2DTranspose(ch[l], 2, strides=2)(h)
        h = layers.Concatenate(axis=-1)([skips[l], u])
        h = layers.Dropout(dropout)(h)
        h = two_conv(h, ch[l])
    out = layers.Conv2D(classes, 1)(h)
    return keras.Model(inp, out)


model = build(args.size, args.filters, args.depth)
params = model.count_params()
x = tf.random.uniform((args.batch, args.size, args.size, 1))
y = tf.cast(tf.random.uniform((args.batch, args.size, args.size, 1)) > 0.8, tf.float32)
opt = keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9)
loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)


@tf.function
def infer(x):
    return model(x, training=False)


@tf.function
def train(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss


def inference():
    infer(x).numpy()


def train_step():
    train(x, y).numpy()


infer_s = uc.median_time(inference, args.iterations) if args.only in (None, "inference") else None
train_s = uc.median_time(train_step, args.iterations) if args.only in (None, "train") else None
uc.report(args, "keras", f"{keras.__version__} / TF {tf.__version__}", params, infer_s, train_s)
