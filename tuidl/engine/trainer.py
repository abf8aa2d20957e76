"""Runs an experiment: epochs of shuffled mini-batches, evaluation, early stopping.

The fast path (train_epoch) keeps nothing but the epoch's numbers; step() runs one
mini-batch and returns its full phase-by-phase StepRecord for the step-through view and
`tuidl trace`.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict

import numpy as np
import torch

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment
from tuidl.data import Dataset, grid_points, make_dataset, map_features
from tuidl.engine.devices import DeviceUnavailable, configure_cpu_threads, describe, resolve_device
from tuidl.engine.layer_norms import LastStepNorms
from tuidl.engine.network import Network
from tuidl.engine.optimizers import make_optimizer
from tuidl.engine import divergence as divergences
from tuidl.engine.records import Divergence, EpochRecord, LayerRecord, StepRecord, r_squared, target_variance

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def to_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    """A CPU copy that later in-place updates of the tensor cannot change."""
    if t is None:
        return None
    return t.detach().to("cpu", copy=True).numpy()


class Trainer:
    explains_divergence = True  # replay a diverged epoch to find its first non-finite step (off in the replay's copy)

    def __init__(self, exp: Experiment, dataset: Dataset | None = None, source: str = "<experiment>"):
        cfg.validate(exp, source)
        try:
            self.device = resolve_device(exp.train.device)
        except DeviceUnavailable as err:
            raise ConfigError(source, "train.device", exp.train.device, str(err)) from None
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.exp = exp
        self.dataset = dataset if dataset is not None else make_dataset(exp.data)
        self.device_label = describe(self.device)
        self.dtype = DTYPES[exp.train.dtype]
        t = exp.train
        sizes = [self.dataset.x_train.shape[1], *(layer.units for layer in exp.model.hidden), cfg.output_units(exp)]
        self.network = Network(
            sizes,
            [layer.activation for layer in exp.model.hidden],
            [layer.dropout for layer in exp.model.hidden],
            t.loss,
            l1=t.l1,
            init=exp.model.init,
            seed=t.seed,
            device=self.device,
            dtype=self.dtype,
        )
        if exp.model.weights:  # the file's initial weights replace the drawn ones
            self.network.load_state_dict(initial_state(exp))
        self.optimizer = make_optimizer(t.optimizer, self.network.params(), t.lr, cfg.optimizer_options(t),
                                        flat=(self.network.flat_params, self.network.flat_grads))
        self.classification = self.dataset.task != "regression"
        self.x_train, self.y_train = self._tensors(self.dataset.x_train, self.dataset.y_train)
        self.x_val, self.y_val = self._tensors(self.dataset.x_val, self.dataset.y_val)
        self._prepare_evaluation()
        # Batch order is drawn on the CPU so that every device sees the same batches.
        self._order_rng = torch.Generator().manual_seed(t.seed)
        self._dropout_rng = torch.Generator(device=self.device).manual_seed(t.seed)
        self.epoch = 0  # completed epochs
        self.step_count = 0
        self.history: list[EpochRecord] = []
        self.status: str | None = None
        self.best_epoch = 0
        self._best_val = math.inf
        self._best_params: list[torch.Tensor] | None = None
        self._batches: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._order: torch.Tensor | None = None  # this epoch's permutation of the training set
        self._cursor = 0
        self._epoch_seconds = 0.0
        self._init_gradient_watch()

    def _init_gradient_watch(self) -> None:
        """What the per-layer gradient norms and the divergence explanation need."""
        self.divergence: Divergence | None = None  # where the numbers first stopped being finite
        self._epoch_start: divergences.EpochStart | None = None  # taken at each train_epoch call
        self._step_divergence: Divergence | None = None  # the first non-finite step() of this epoch
        self._norms = LastStepNorms(self.network)  # the epoch's last step's, for its EpochRecord

    # -- data ---------------------------------------------------------------------
    def _tensors(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.as_tensor(x, dtype=self.dtype).to(self.device)
        yt = self.network.loss.prepare_targets(y, self.network.layers[-1].W.shape[0], self.device, self.dtype)
        return xt, yt

    def _prepare_evaluation(self) -> None:
        """The training and validation sets stacked, so that after each epoch one forward
        pass evaluates both; `_set_of_row` says which set each row belongs to (0 or 1)."""
        n_train, n_val = self.x_train.shape[0], self.x_val.shape[0]
        self._set_sizes = (n_train, n_val)
        self._x_both = torch.cat([self.x_train, self.x_val])
        self._y_both = torch.cat([self.y_train, self.y_val])
        if self.network.layers[-1].n_out == 1:  # one output: the class is y ≥ 0.5
            self._class_both = self._y_both >= 0.5
        else:  # class indices (N,) -> (N, 1)
            self._class_both = self._y_both.reshape(-1, 1)
        self._set_of_row = torch.cat([torch.zeros(n_train, dtype=torch.long),
                                      torch.ones(n_val, dtype=torch.long)]).to(self.device)
        regression = not self.classification  # R² needs each set's target variance, fixed with the data
        self._target_variance = ((target_variance(self.dataset.y_train), target_variance(self.dataset.y_val))
                                 if regression else (None, None))

    def fit_of(self, train_loss: float, val_loss: float | None) -> tuple[float | None, float | None]:
        """R² of the training and validation sets from their losses (regression; else None)."""
        v_train, v_val = self._target_variance
        return r_squared(train_loss, v_train), r_squared(val_loss, v_val)

    def _start_epoch(self) -> None:
        self._use_order(torch.randperm(self.x_train.shape[0], generator=self._order_rng), cursor=0)
        self._epoch_seconds = 0.0
        self._step_divergence = None

    def _use_order(self, order: torch.Tensor, cursor: int) -> None:
        self._order = order
        on_device = order.to(self.device)
        bs = self.exp.train.batch_size
        self._batches = list(zip(self.x_train[on_device].split(bs), self.y_train[on_device].split(bs)))
        self._cursor = cursor

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.x_train.shape[0] / self.exp.train.batch_size)

    @property
    def batch_in_epoch(self) -> int:
        """Mini-batches already done in the current (unfinished) epoch."""
        return self._cursor if self._cursor < len(self._batches) else 0

    def use_dataset(self, dataset: Dataset, exp: Experiment | None = None) -> None:
        """Train on `dataset` from here on (points drawn by hand): the network, the optimizer's
        state, the epoch count, the history and the random generators are kept; the next step
        starts a new epoch over the new data (an epoch under way is dropped, not finished).
        `exp`: the experiment that describes the new data (same network; the batch size may
        differ). The best validation loss restarts, since it was measured on other points."""
        exp = exp if exp is not None else self.exp
        if dataset.x_train.shape[1] != self.network.layers[0].W.shape[1]:
            raise ValueError(f"the new data has {dataset.x_train.shape[1]} inputs; "
                             f"the network takes {self.network.layers[0].W.shape[1]}")
        if (dataset.task != "regression") != self.classification:
            raise ValueError(f"the new data is {dataset.task}; the network was built for the other kind")
        self.exp, self.dataset = exp, dataset
        self.x_train, self.y_train = self._tensors(dataset.x_train, dataset.y_train)
        self.x_val, self.y_val = self._tensors(dataset.x_val, dataset.y_val)
        self._prepare_evaluation()
        self._order, self._batches, self._cursor = None, [], 0  # train_epoch and step start an epoch
        self._epoch_seconds = 0.0
        self._epoch_start = self._step_divergence = None  # they belong to the old data's batches
        self._best_val, self.best_epoch, self._best_params = math.inf, self.epoch, None

    # -- training -----------------------------------------------------------------
    @torch.inference_mode()  # skips autograd's bookkeeping in every op: ~10% faster here
    def train_epoch(self, stop=None) -> EpochRecord | None:
        """Trains the rest of the current epoch (a whole one if none is under way).

        `stop` (a callable, or None) is asked after each step but the epoch's last: when it
        answers True the epoch stops there and None is returned. The steps taken stay, and
        the next call (or a checkpoint saved now and resumed) goes on from the next batch,
        exactly as if it had not stopped (`tuidl train`'s ctrl+c)."""
        start = time.perf_counter()
        if self._cursor >= len(self._batches):
            self._start_epoch()
        if self.explains_divergence:
            self._epoch_start = divergences.remember(self, self._epoch_start)  # to replay these steps if they diverge
        # one training step (forward, backward, update) per remaining batch, with local
        # names: per-step Python overhead counts at these sizes
        network, generator = self.network, self._dropout_rng
        forward, backward, update, grads = network.forward, network.backward, self.optimizer.step, network.grads()
        todo = self._batches[self._cursor:]
        for done, (xb, yb) in enumerate(todo[:-1], 1):
            forward(xb, True, generator)
            backward(yb)
            update(grads)
            if stop is not None and stop():
                self.step_count += done
                self._cursor += done
                self._epoch_seconds += time.perf_counter() - start
                return None
        xb, yb = todo[-1]  # the last step: its norms for the EpochRecord
        forward(xb, True, generator)
        backward(yb)
        self._norms.before.copy_(network.flat_params)
        update(grads)
        self._norms.measure()  # while its numbers are in the cache
        self.step_count += len(todo)
        self._cursor += len(todo)
        self._epoch_seconds += time.perf_counter() - start
        return self._end_epoch()

    @torch.inference_mode()
    def step(self) -> StepRecord:
        """One mini-batch step, recorded phase by phase; may complete an epoch."""
        start = time.perf_counter()
        if self._cursor >= len(self._batches):
            self._start_epoch()
        xb, yb = self._batches[self._cursor]
        before = [(to_numpy(layer.W), to_numpy(layer.b)) for layer in self.network.layers]
        self.network.forward(xb, train=True, generator=self._dropout_rng)
        total, data_loss, l1_term = (float(v) for v in self.network.loss_value(yb))
        self.network.backward(yb)
        self._norms.before.copy_(self.network.flat_params)
        self.optimizer.explain = True
        try:
            self.optimizer.step(self.network.grads())
        finally:
            self.optimizer.explain = False
        self._norms.measure()
        self.step_count += 1
        self._cursor += 1
        record = StepRecord(
            step=self.step_count,
            epoch=self.epoch + 1,
            x=to_numpy(xb),
            y=to_numpy(yb),
            loss=total,
            data_loss=data_loss,
            l1_term=l1_term,
            layers=[self._layer_record(i, before[i]) for i in range(len(self.network.layers))],
            loss_name=self.network.loss.name,
            optimizer=self.optimizer.name,
            lr=self.optimizer.lr,
            options=dict(self.optimizer.options),
        )
        if self._step_divergence is None and self.explains_divergence:
            self._step_divergence = divergences.divergence_in(record)
        self._epoch_seconds += time.perf_counter() - start
        if self._cursor >= len(self._batches):
            self._end_epoch()
        return record

    def _layer_record(self, i: int, before: tuple[np.ndarray, np.ndarray]) -> LayerRecord:
        layer = self.network.layers[i]
        state = {}
        terms = {}
        for name, k in (("W", 2 * i), ("b", 2 * i + 1)):
            state[name] = {key: _plain(v) for key, v in self.optimizer.state[k].items()}
            state[name]["step"] = self.optimizer.step_count
            terms[name] = {key: _plain(v) for key, v in self.optimizer.terms[k].items()}
        return LayerRecord(
            index=i,
            activation=layer.activation.name,
            W=before[0],
            b=before[1],
            input=to_numpy(layer.input),
            z=to_numpy(layer.z),
            a=to_numpy(layer.a),
            dropout_mask=to_numpy(layer.mask),
            grad_a=to_numpy(layer.grad_a),
            grad_z=to_numpy(layer.grad_z),
            grad_W=to_numpy(layer.grad_W),
            grad_b=to_numpy(layer.grad_b),
            W_after=to_numpy(layer.W),
            b_after=to_numpy(layer.b),
            optimizer_state=state,
            optimizer_terms=terms,
        )

    # -- evaluation ---------------------------------------------------------------
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None]:
        """Data loss (without the L1 term) and accuracy on one set, without dropout: the
        plain version of evaluate_both, which the epochs use (and the tests check against)."""
        loss, out = self.network.evaluate(x, y)
        if not self.classification:
            return float(loss), None
        if out.shape[1] == 1:
            hits = (out[:, 0] >= 0.5) == (y.reshape(-1) >= 0.5)
        else:
            hits = out.argmax(dim=1) == y
        return float(loss), float(hits.double().mean())

    def evaluate_both(self) -> tuple[float, float | None, float, float | None]:
        """(train loss, train accuracy, validation loss, validation accuracy), the loss
        without the L1 term, without dropout: the same numbers as `evaluate` on each set,
        in one forward pass over both sets, one sum per set and one transfer to the host.
        An empty set (points without x_val) has loss and accuracy None: there is nothing
        to measure, and NaN would read as divergence."""
        network = self.network
        z, a = network._eval(self._x_both)
        n = z.shape[0]
        columns = [network.loss.elementwise(z, a, self._y_both).reshape(n, -1)]  # each sample's loss
        if self.classification:
            predicted = (a >= 0.5) if a.shape[1] == 1 else a.argmax(dim=1, keepdim=True)
            columns.append(predicted == self._class_both)  # 1 for a hit, 0 for a miss
        per_row = torch.cat(columns, dim=1)
        # row s = the column sums over set s (0: training, 1: validation)
        sums = per_row.new_zeros(2, per_row.shape[1]).index_add_(0, self._set_of_row, per_row).tolist()
        k = columns[0].shape[1]  # loss terms per sample
        out: list[float | None] = []
        for row, size in zip(sums, self._set_sizes):
            out.append(math.fsum(row[:k]) / (size * k) if size else None)  # mean loss
            if not self.classification:
                out.append(None)
            else:
                out.append(row[k] / size if size else None)  # hits / samples
        return out[0], out[1], out[2], out[3]

    def _end_epoch(self) -> EpochRecord:
        start = time.perf_counter()
        self.epoch += 1
        train_loss, train_acc, val_loss, val_acc = self.evaluate_both()
        grad_norms, update_ratios = self._norms.values()
        seconds = self._epoch_seconds + time.perf_counter() - start
        record = EpochRecord(self.epoch, train_loss, val_loss, train_acc, val_acc, seconds, grad_norms, update_ratios,
                             *self.fit_of(train_loss, val_loss))
        self.history.append(record)
        self._check_stop(record)
        return record

    def _check_stop(self, record: EpochRecord) -> None:
        t = self.exp.train
        has_val = record.val_loss is not None  # no validation set: no best epoch, no early stop
        if not (math.isfinite(record.train_loss) and (not has_val or math.isfinite(record.val_loss))):
            if self.divergence is None and self.explains_divergence:
                self.divergence = self._explain_divergence(
                    ("the loss over the training set", record.train_loss) if not math.isfinite(record.train_loss)
                    else ("the loss over the validation set", record.val_loss))
            self.status = self.divergence.message if self.divergence is not None else (
                f"diverged at epoch {record.epoch}: the loss became {record.train_loss} "
                f"(learning rate {t.lr:g} is probably too large: lower it)"
            )
            return
        if has_val and record.val_loss < self._best_val - t.min_delta:  # an improvement, as Keras counts it
            self._best_val, self.best_epoch = record.val_loss, record.epoch
            if t.early_stopping:
                self._best_params = [p.clone() for p in self.network.params()]
        elif has_val and t.early_stopping and record.epoch - self.best_epoch >= t.early_stopping:
            for p, best in zip(self.network.params(), self._best_params):
                p.copy_(best)
            self.status = (
                f"early stopping at epoch {record.epoch}: validation loss has not improved for "
                f"{t.early_stopping} epochs; restored the weights of epoch {self.best_epoch} "
                f"(validation loss {self._best_val:.4g})"
            )
            return
        if record.epoch >= t.epochs:
            self.status = f"finished {record.epoch} epochs"

    def _explain_divergence(self, epoch_loss: tuple[str, float]) -> Divergence | None:
        """The first non-finite step of the epoch just ended: one taken by step(), else the
        one found by replaying the last train_epoch call (the trainer is not changed)."""
        if self._step_divergence is not None:
            return self._step_divergence
        start = self._epoch_start
        if start is None or start.epoch != self.epoch - 1:
            return None
        try:
            return divergences.replay(self, start, epoch_loss)
        except Exception:  # noqa: BLE001 - an explanation must never stop training: the plain message stays
            return None

    @property
    def diverged(self) -> bool:
        return self.status is not None and self.status.startswith("diverged")

    @property
    def finished(self) -> bool:
        """Trained its epochs (raising train.epochs with set_epochs lets it go on)."""
        return self.status is not None and self.status.startswith("finished")

    def set_epochs(self, n: int) -> None:
        """The epoch to train until. A finished run goes on when n is past the current epoch;
        n at or below it finishes the run here, so the epoch count never passes the status."""
        self.exp.train.epochs = n
        if self.finished and self.epoch < n:
            self.status = None
        elif self.status is None and self.epoch >= n:
            self.status = f"finished {self.epoch} epochs"

    # -- save and resume ----------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to go on exactly where this trainer stopped (CPU tensors and
        plain values, loadable with torch.load(weights_only=True)); the experiment and the
        dataset are not in it: load it into a Trainer built from the same experiment."""
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": [asdict(r) for r in self.history],
            "epoch": self.epoch,
            "step_count": self.step_count,
            "status": self.status,
            "best_epoch": self.best_epoch,
            "best_val": self._best_val,
            "best_params": None if self._best_params is None else [to_cpu(p) for p in self._best_params],
            "order_rng": self._order_rng.get_state(),
            "dropout_rng": self._dropout_rng.get_state(),
            "dropout_rng_device": self.device.type,
            "order": None if self._order is None else self._order.clone(),
            "cursor": self._cursor,
            "epoch_seconds": self._epoch_seconds,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from state_dict(). On another device type the dropout generator cannot take
        the saved state (CPU and CUDA generators differ) and is seeded from (seed, steps)
        instead; every other number resumes exactly."""
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = [EpochRecord(**r) for r in state["history"]]
        self.epoch = int(state["epoch"])
        self.step_count = int(state["step_count"])
        self.status = state["status"]
        self.best_epoch, self._best_val = int(state["best_epoch"]), float(state["best_val"])
        best = state["best_params"]
        self._best_params = None if best is None else [
            torch.as_tensor(p).to(self.device, self.dtype) for p in best]
        self._order_rng.set_state(state["order_rng"])
        if state["dropout_rng_device"] == self.device.type:
            self._dropout_rng.set_state(state["dropout_rng"])
        else:
            self._dropout_rng.manual_seed(self.exp.train.seed + self.step_count)
        if state["order"] is None:
            self._order, self._batches, self._cursor = None, [], 0
        else:
            self._use_order(torch.as_tensor(state["order"]), int(state["cursor"]))
        self._epoch_seconds = float(state["epoch_seconds"])
        self.divergence = self._epoch_start = self._step_divergence = None  # they were of the state replaced

    # -- views --------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, points: np.ndarray) -> np.ndarray:
        """Network output for raw 2-D points (features mapped here), no dropout."""
        x = map_features(points, self.exp.data.features)
        out = self.network.predict(torch.as_tensor(x, dtype=self.dtype).to(self.device))
        return to_numpy(out).astype(np.float64)

    def boundary(self, nx: int, ny: int) -> np.ndarray:
        """(ny, nx) over the data's extent, row 0 at the top.

        binary: P(class 1); multiclass: winning class + its probability × 0.999;
        regression: the predicted value.
        """
        out = self.predict(grid_points(self.dataset.extent, nx, ny))
        if self.dataset.task == "multiclass":
            values = out.argmax(axis=1) + out.max(axis=1) * 0.999
        else:
            values = out[:, 0]
        return values.reshape(ny, nx)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(to_numpy(layer.W), to_numpy(layer.b)) for layer in self.network.layers]

    # -- hands on the network (the app's weight editor and neuron view) ------------
    @torch.inference_mode()
    def set_weight(self, layer: int, row: int, col: int | None, value: float) -> None:
        """W[row, col] of dense layer `layer` (col None: its bias b[row]) set to value, in
        place on the network's device and dtype; the optimizer's state is kept as it is."""
        layers = self.network.layers
        if not (isinstance(layer, int) and 0 <= layer < len(layers)):
            raise ValueError(f"layer {layer!r}: the network has dense layers 0 to {len(layers) - 1}")
        W, b = layers[layer].W, layers[layer].b
        if not (isinstance(row, int) and 0 <= row < W.shape[0]):
            raise ValueError(f"row {row!r}: layer {layer + 1} has neurons 0 to {W.shape[0] - 1}")
        if col is not None and not (isinstance(col, int) and 0 <= col < W.shape[1]):
            raise ValueError(f"col {col!r}: layer {layer + 1} has inputs 0 to {W.shape[1] - 1}")
        if not math.isfinite(float(value)):
            raise ValueError(f"value {value!r}: a finite number")
        if col is None:
            b[row] = float(value)
        else:
            W[row, col] = float(value)

    @torch.inference_mode()
    def neuron_map(self, layer: int, unit: int, nx: int, ny: int) -> np.ndarray:
        """(ny, nx): the activation a of neuron `unit` of dense layer `layer` over the data's
        extent, row 0 at the top (as boundary), no dropout: what that neuron computes."""
        layers = self.network.layers
        if not (0 <= layer < len(layers) and 0 <= unit < layers[layer].n_out):
            raise ValueError(f"no neuron {unit} in dense layer {layer}")
        x = map_features(grid_points(self.dataset.extent, nx, ny), self.exp.data.features)
        a = torch.as_tensor(x, dtype=self.dtype).to(self.device)
        for dense in layers[: layer + 1]:  # the forward pass, stopped at that layer
            a = dense.activation.forward(dense.b_rows(a.shape[0]).addmm(a, dense.WT))
        return to_numpy(a[:, unit]).astype(np.float64).reshape(ny, nx)


def initial_state(exp: Experiment) -> dict[str, torch.Tensor]:
    """model.weights as a Network state_dict (float64; copied into the network's dtype)."""
    state = {}
    for i, layer in enumerate(exp.model.weights):
        state[f"layers.{i}.weight"] = torch.tensor(layer.W, dtype=torch.float64)
        state[f"layers.{i}.bias"] = torch.tensor(layer.b, dtype=torch.float64)
    return state


def to_cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True)


def _plain(v: object) -> object:
    return to_numpy(v) if isinstance(v, torch.Tensor) else v
