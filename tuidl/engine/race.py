"""A race: variants of one experiment trained side by side, from the same start.

The variants differ in the learning rate, the optimizer (and its options), the batch size
and the hidden layers' activation. Every variant starts from the same initial weights and
sees the same data in the same batch order (one permutation per epoch, drawn from
train.seed as Trainer draws it), with the same dropout masks.

They are trained together. The variants that share a batch size form a lane, whose
weights are stacked on a leading variant axis: (V, out, in) per layer, views into one
(V, P) tensor. Each step's forward and backward is one batched op (torch.baddbmm,
torch.bmm, elementwise ops over (V, N, out)) per line of the single-network step, for the
whole lane. What cannot be shared runs per block of rows: an activation that differs
(one op per block of variants that share it), and the update rule of each group (the
variants with the same optimizer and options), each line of it one op over the group's
rows with the learning rates as a (G, 1) column (tuidl.engine.race_optimizers); the line
that Adam, RMSprop, Adagrad and Adadelta share, v = βv + (1 − β)g², runs once for all of
them, β as a column. The evaluation after each epoch is one batched forward pass too.

Each variant keeps a lone Trainer (`trainers[v]`) that holds what is not shared: its
weights and optimizer state between epochs (copied from the lane when an epoch ends), its
history, status, best epoch, early stopping and the divergence explanation (a replay of
its epoch by a lone copy). Its EpochRecords are those of `tuidl train` of that variant
alone: the same ops on the same numbers, batched, which round alike except for a last bit
here and there (elementwise kernels split a longer tensor differently into vector lanes);
float64 agrees to ~1e-11, float32 to ~1e-6 over the first epochs. A run that amplifies
such bits (a learning rate at the edge of divergence) drifts apart over epochs as a lone
run on another machine would. A variant that stops (diverged, early stopping, finished)
leaves its lane; the others go on, stacked again.
"""
from __future__ import annotations

import copy
import itertools
import math
import time

import torch

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment
from tuidl.data import make_dataset
from tuidl.engine import divergence as divergences
from tuidl.engine.activations import Softmax, scalar
from tuidl.engine.race_optimizers import GroupRule, square_average
from tuidl.engine.records import EpochRecord
from tuidl.engine.trainer import Trainer
from tuidl.race_plan import MAX_VARIANTS, RaceError, parse_vary, plan

__all__ = ["MAX_VARIANTS", "Race", "RaceError", "make_race", "parse_vary"]


def _column(values: list[float], like: torch.Tensor) -> torch.Tensor:
    """One number per variant as a (V, 1, 1) tensor, to broadcast over (V, N, out)."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, 1, 1)


class _Layer:
    """One dense layer of a lane: views of the lane's (V, P) tensors, and the tensors of
    the last forward and backward."""

    __slots__ = ("W", "WT", "WbT", "a", "activation", "b3", "blocks", "dropout", "gW", "gb", "grad_WbT", "input",
                 "keep", "mask",
                 "softmax", "z")

    def __init__(self, params, grads, offset, n_out, n_in, dense, activations, dropouts):
        V, end = params.shape[0], offset + n_out * (n_in + 1)
        Wb = params[:, offset:end].view(V, n_out, n_in + 1)  # each variant's [W | b], as in its Network
        grad_Wb = grads[:, offset:end].view(V, n_out, n_in + 1)
        self.W = Wb[:, :, :-1]
        self.WT = self.W.transpose(1, 2)
        self.WbT = Wb.transpose(1, 2)
        self.grad_WbT = grad_Wb.transpose(1, 2)
        self.b3 = Wb[:, :, -1].unsqueeze(1)  # (V, 1, out)
        self.gW = grad_Wb[:, :, :-1]
        self.gb = grad_Wb[:, :, -1]
        self.activation = dense.activation
        self.softmax = isinstance(dense.activation, Softmax)
        # the rows of each activation when the variants differ in it: (first row, end row, activation)
        self.blocks = None
        if any(act is not dense.activation for act in activations):
            self.blocks = []
            for act, rows in itertools.groupby(range(len(activations)), key=lambda i: activations[i]):
                rows = list(rows)
                self.blocks.append((rows[0], rows[-1] + 1, act))
        # the dropout rate p and the kept share 1 − p (computed in float64, as a lone run
        # does): numbers, or (V, 1, 1) columns when the variants differ in them
        if len(set(dropouts)) == 1:
            self.dropout, self.keep = dropouts[0], 1.0 - dropouts[0]
        else:
            self.dropout, self.keep = _column(dropouts, params), _column([1.0 - p for p in dropouts], params)
        self.input = self.z = self.a = self.mask = None

    def dropout_mask(self, a, rng):
        """The mask of a lone network's draw, (r ≥ p) / (1 − p), each variant its own p;
        None without dropout. One draw serves all: every lone run with dropout draws the
        same numbers in this layer, and a variant whose p is 0 gets ones (alone it draws
        nothing, and uses no mask)."""
        p, keep = self.dropout, self.keep
        if not isinstance(p, torch.Tensor):
            if p == 0.0:
                return None
            p, keep = scalar(p, a), scalar(keep, a)
        r = torch.rand(a.shape[1:], generator=rng, device=a.device, dtype=a.dtype)
        return (r >= p).to(a.dtype).div_(keep)

    def activate(self, z, out=None):
        """a = g(z), each variant's own g: a new tensor, or written into `out`."""
        if self.softmax:
            return torch.softmax(z, dim=-1)
        if self.blocks is None:
            return self.activation.forward(z, out=out)
        a = torch.empty_like(z) if out is None else out
        for i0, i1, act in self.blocks:
            act.forward(z[i0:i1], out=a[i0:i1])
        return a

    def chain(self, ga, z, a):
        """dL/dz = dL/da · g'(z), each variant's own g."""
        if self.blocks is None:
            return self.activation.chain(ga, z, a)
        gz = torch.empty_like(ga)
        for i0, i1, act in self.blocks:
            gz[i0:i1] = act.chain(ga[i0:i1], z[i0:i1], a[i0:i1])
        return gz


class _Lane:
    """The running variants of one batch size, trained as one stacked network."""

    def __init__(self, race: Race, batch_size: int, members: list[int]):
        self.race, self.batch_size = race, batch_size
        self.dropout_rng = torch.Generator(device=race.device).manual_seed(race.exp.train.seed)
        self.members: list[int] = []
        self.build(members)

    def build(self, members: list[int]) -> None:
        """Stack the weights and optimizer state of `members` (taken from their trainers)."""
        trainers = self.race.trainers
        # the members of each group consecutive, so that a group is a block of rows
        key = self.race._group_key
        optimizers = [t.optimizer for t in trainers]

        def averaged(v: int) -> bool:
            return square_average(optimizers[v].name, optimizers[v].options) is not None

        # the groups with a square average first: their rows are then one block
        def activation_names(v: int) -> tuple[str, ...]:
            return tuple(layer.activation.name for layer in trainers[v].network.layers)

        members = sorted(members, key=lambda v: (not averaged(v), key(v), activation_names(v), v))
        self.members = members
        first = trainers[members[0]]
        network = first.network
        self.params = torch.stack([trainers[v].network.flat_params for v in members])
        self.grads = torch.zeros_like(self.params)
        self.layers: list[_Layer] = []
        offset = 0
        for i, dense in enumerate(network.layers):
            activations = [trainers[v].network.layers[i].activation for v in members]
            dropouts = [trainers[v].network.layers[i].dropout for v in members]
            self.layers.append(_Layer(self.params, self.grads, offset, dense.n_out, dense.n_in, dense,
                                      activations, dropouts))
            offset += dense.Wb.numel()
        self.loss = network.loss
        l1s = [trainers[v].network.l1 for v in members]
        self.l1 = l1s[0] if len(set(l1s)) == 1 else _column(l1s, self.params)  # number or (V, 1, 1)
        self.groups: list[tuple[int, int, GroupRule]] = []  # (first row, end row, its rule)
        for _, block in itertools.groupby(range(len(members)), key=lambda i: key(members[i])):
            rows = list(block)
            i0, i1 = rows[0], rows[-1] + 1
            opts = [trainers[members[i]].optimizer for i in rows]
            state = {name: torch.stack([o._flat_state[name] for o in opts]) for name in opts[0]._flat_state}
            rule = GroupRule(opts[0].name, opts[0].options, [o.lr for o in opts], state, opts[0].step_count)
            rule.bind(self.params)
            self.groups.append((i0, i1, rule))
        self._fuse_square_averages()
        # each group's rows of the weights and gradients, as views made once
        self._updates = [(rule.step, self.params[i0:i1], self.grads[i0:i1]) for i0, i1, rule in self.groups]
        self._with_ones: dict[int, list[tuple]] = {}  # see inputs_with_ones

    def _fuse_square_averages(self) -> None:
        """With two groups or more whose rule has the line v = βv + (1 − β)g² (see
        square_average), their v become row blocks of one lane tensor, updated once a step
        for all of them with β and 1 − β as columns: the same products and sums as each
        rule's v.mul_(β).addcmul_(g, g, value=1 − β), in fewer tensor ops."""
        self._square = None
        fused = [(i0, i1, rule, square_average(rule.name, rule.options)) for i0, i1, rule in self.groups]
        fused = [f for f in fused if f[3] is not None]
        if len(fused) < 2:
            return
        end = fused[-1][1]
        assert fused[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(fused))  # one block of rows
        square = torch.cat([rule.state[name] for _, _, rule, (name, _) in fused])
        betas, weights = [], []
        for i0, i1, rule, (name, beta) in fused:
            rule.state[name] = square[i0:i1]
            rule.fused = True
            betas += [[beta]] * (i1 - i0)
            weights += [[1 - beta if beta != 1.0 else 1.0]] * (i1 - i0)
        like = self.params
        self._square = (square, self.grads[:end], torch.tensor(betas, dtype=like.dtype, device=like.device),
                        torch.tensor(weights, dtype=like.dtype, device=like.device))

    # -- one step, all members --------------------------------------------------------
    def inputs_with_ones(self, n: int) -> list[tuple]:
        """Per layer, for a batch of n rows: every variant's input [x | 1] (V, n, in + 1),
        its transposed view and the view x, as Network.inputs_with_ones."""
        buffers = self._with_ones.get(n)
        if buffers is None:
            V, like = self.params.shape[0], self.params
            buffers = []
            for layer in self.layers:
                with_ones = torch.ones((V, n, layer.W.shape[2] + 1), dtype=like.dtype, device=like.device)
                buffers.append((with_ones, with_ones.transpose(1, 2), with_ones[:, :, :-1]))
            self._with_ones[n] = buffers
        return buffers

    def forward(self, xb: torch.Tensor) -> None:
        inputs = self.inputs_with_ones(xb.shape[0])
        inputs[0][2].copy_(xb.expand(self.params.shape[0], *xb.shape))
        rng = self.dropout_rng
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            with_ones, _, x = inputs[i]
            layer.input = x
            z = torch.bmm(with_ones, layer.WbT)  # z = [x | 1][W | b]ᵀ = x Wᵀ + b, per variant
            layer.z = z
            if i == last:
                a = layer.activate(z)
                layer.mask = None
            else:
                layer.mask = layer.dropout_mask(z, rng)
                if layer.mask is None:
                    a = layer.activate(z, out=inputs[i + 1][2])  # the next layer's x
                else:
                    a = layer.activate(z)
                    torch.mul(a, layer.mask, out=inputs[i + 1][2])
            layer.a = a

    def backward(self, yb: torch.Tensor) -> None:
        layers = self.layers
        out = layers[-1]
        gz = self._loss_grad_z(out.z, out.a, yb)
        inputs = self.inputs_with_ones(yb.shape[0])
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            torch.bmm(inputs[i][1], gz, out=layer.grad_WbT)  # [∂L/∂W | ∂L/∂b]ᵀ = [x | 1]ᵀ δz
            if i == 0:
                break
            prev = layers[i - 1]
            ga = torch.bmm(gz, layer.W)  # δz W
            if prev.mask is not None:
                ga.mul_(prev.mask)
            gz = prev.chain(ga, prev.z, prev.a)
        l1 = self.l1
        if isinstance(l1, torch.Tensor):  # + λ₁ sign(W), each variant its λ₁ (exact: sign is ±1 or 0)
            for layer in layers:
                layer.gW.add_(torch.sign(layer.W).mul_(l1))
        elif l1 != 0.0:
            for layer in layers:
                layer.gW.add_(torch.sign(layer.W), alpha=l1)

    def _loss_grad_z(self, z, a, y):
        if self.loss.name == "ce":  # softmax(z) − onehot(y), over the last axis, / N
            V, n = a.shape[0], y.shape[0]
            index = y.view(1, n, 1).expand(V, n, 1)
            g = a.scatter_add(2, index, scalar(-1.0, a).expand(V, n, 1))
            return g.div_(scalar(float(n), a))
        return self.loss.grad_z(z, a, y)  # bce, mse: elementwise, y broadcast over the variants

    def update(self) -> None:
        if self._square is not None:  # v = βv + (1 − β)g² of every group that has it, at once
            square, grads, betas, weights = self._square
            square.mul_(betas).addcmul_(grads.mul(weights), grads)
        for step, params, grads in self._updates:
            step(params, grads)

    # -- epochs -----------------------------------------------------------------------
    def train_epoch(self, order: torch.Tensor) -> list[EpochRecord]:
        start = time.perf_counter()
        race = self.race
        trainers = [race.trainers[v] for v in self.members]
        on_device = order.to(race.device)
        first = trainers[0]
        batches = list(zip(first.x_train[on_device].split(self.batch_size),
                           first.y_train[on_device].split(self.batch_size)))
        rng_state = self.dropout_rng.get_state()
        for trainer in trainers:  # what a lone trainer's epoch starts from (its divergence replay needs it)
            trainer._order, trainer._batches, trainer._cursor = order, batches, 0
            trainer._step_divergence = None
            if trainer.explains_divergence:
                trainer._dropout_rng.set_state(rng_state)
                trainer._epoch_start = divergences.remember(trainer, trainer._epoch_start)
        forward, backward, update = self.forward, self.backward, self.update
        for xb, yb in batches[:-1]:
            forward(xb)
            backward(yb)
            update()
        xb, yb = batches[-1]
        forward(xb)
        backward(yb)
        before = self.params.clone()  # for the last step's norms
        update()
        rng_state = self.dropout_rng.get_state()
        seconds = time.perf_counter() - start
        records = []
        evaluations = self.evaluate(first)
        seconds = time.perf_counter() - start  # the lane's time, shared by its variants
        for row, (v, trainer) in enumerate(zip(self.members, trainers)):
            self._give_back(row, trainer)
            trainer._norms.before.copy_(before[row])
            trainer._norms.measure()
            trainer._dropout_rng.set_state(rng_state)
            trainer.step_count += len(batches)
            trainer._cursor = len(batches)
            # Trainer._end_epoch, with the evaluation of the whole lane
            trainer.epoch += 1
            train_loss, train_acc, val_loss, val_acc = evaluations[row]
            grad_norms, update_ratios = trainer._norms.values()
            record = EpochRecord(trainer.epoch, train_loss, val_loss, train_acc, val_acc, seconds,
                                 grad_norms, update_ratios, *trainer.fit_of(train_loss, val_loss))
            trainer.history.append(record)
            trainer._check_stop(record)
            records.append(record)
        return records

    def evaluate(self, first: Trainer) -> list[tuple]:
        """Trainer.evaluate_both of every member, in one batched forward pass over the
        training and validation sets: per member (train loss, train accuracy, validation
        loss, validation accuracy)."""
        V = self.params.shape[0]
        x = first._x_both.expand(V, *first._x_both.shape)
        for layer in self.layers:
            z = torch.baddbmm(layer.b3, x, layer.WT)
            x = layer.activate(z)
        a, y, n = x, first._y_both, z.shape[1]
        if self.loss.name == "ce":  # logsumexp(z) − z_y per sample, over the last axis
            per_sample = torch.logsumexp(z, dim=-1) - z.gather(2, y.view(1, n, 1).expand(V, n, 1)).squeeze(2)
        else:
            per_sample = self.loss.elementwise(z, a, y)
        columns = [per_sample.reshape(V, n, -1)]
        if first.classification:
            predicted = (a >= 0.5) if a.shape[2] == 1 else a.argmax(dim=2, keepdim=True)
            columns.append(predicted == first._class_both)
        per_row = torch.cat(columns, dim=2)
        sums = per_row.new_zeros(V, 2, per_row.shape[2]).index_add_(1, first._set_of_row, per_row).tolist()
        k = columns[0].shape[2]
        out = []
        for member in sums:
            values: list[float | None] = []
            for row, size in zip(member, first._set_sizes):
                values.append(math.fsum(row[:k]) / (size * k) if size else None)
                values.append(None if not first.classification else (row[k] / size if size else None))
            out.append(tuple(values))
        return out

    def _give_back(self, row: int, trainer: Trainer) -> None:
        """This member's weights, gradients and optimizer state into its lone trainer."""
        trainer.network.flat_params.copy_(self.params[row])
        trainer.network.flat_grads.copy_(self.grads[row])
        for i0, i1, rule in self.groups:
            if i0 <= row < i1:
                for name, t in rule.state.items():
                    trainer.optimizer._flat_state[name].copy_(t[row - i0])
                trainer.optimizer.step_count = rule.step_count


class Race:
    """Up to 8 variants of `exp` trained together. `vary` maps a key (optimizer, lr,
    batch_size, an optimizer option) to its values (text or numbers); the variants are
    the product of the lists, in order (the first key varies slowest)."""

    def __init__(self, exp: Experiment, vary: dict[str, list], source: str = "<experiment>", dataset=None):
        cfg.validate(exp, source)
        if not vary:
            raise RaceError("nothing to race: vary at least one setting")
        self.exp = exp
        self.variants: list[tuple[str, dict[str, str], Experiment]] = plan(exp, vary, source)
        dataset = dataset if dataset is not None else make_dataset(exp.data)
        self.trainers = [Trainer(v_exp, dataset=dataset, source=source) for _, _, v_exp in self.variants]
        self.device = self.trainers[0].device
        self.device_label = self.trainers[0].device_label
        self._order_rng = torch.Generator().manual_seed(exp.train.seed)  # as Trainer draws the batch order
        self.epoch = 0  # epochs trained by the variants still running
        self.seconds = 0.0  # wall time of the race's epochs, all variants together
        by_size: dict[int, list[int]] = {}
        for v, (_, _, v_exp) in enumerate(self.variants):
            by_size.setdefault(v_exp.train.batch_size, []).append(v)
        self.lanes = [_Lane(self, bs, members) for bs, members in by_size.items()]

    def _group_key(self, v: int) -> tuple:
        t = self.variants[v][2].train
        return (t.optimizer, repr(sorted(cfg.optimizer_options(t).items())))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.variants]

    @property
    def history(self) -> list[list[EpochRecord]]:
        return [t.history for t in self.trainers]

    @property
    def status(self) -> list[str | None]:
        return [t.status for t in self.trainers]

    @property
    def finished(self) -> bool:
        """Every variant has stopped (trained its epochs, diverged or stopped early)."""
        return all(s is not None for s in self.status)

    @torch.inference_mode()
    def train_epoch(self) -> list[EpochRecord | None]:
        """One epoch of every running variant: its EpochRecord, None for a stopped one."""
        out: list[EpochRecord | None] = [None] * len(self.variants)
        if self.finished:
            return out
        start = time.perf_counter()
        order = torch.randperm(self.trainers[0].x_train.shape[0], generator=self._order_rng)
        for trainer in self.trainers:  # each lone trainer draws its next epoch's order from here on
            trainer._order_rng.set_state(self._order_rng.get_state())
        self.epoch += 1
        for lane in self.lanes:
            if not lane.members:
                continue
            for v, record in zip(list(lane.members), lane.train_epoch(order)):
                out[v] = record
            running = [v for v in lane.members if self.trainers[v].status is None]
            if running != lane.members:
                if running:
                    lane.build(running)  # the stopped leave; the others go on, stacked again
                else:
                    lane.members = []
        self.seconds += time.perf_counter() - start
        return out

    def lone_copy(self, v: int) -> Trainer:
        """A Trainer where variant v is now (weights, optimizer state, batch order and dropout
        generators): its steps are the variant's next steps, and the race does not move."""
        name, _, v_exp = self.variants[v]
        trainer = self.trainers[v]
        copy_ = Trainer(v_exp, dataset=trainer.dataset, source=name)
        copy_.load_state_dict(trainer.state_dict())
        return copy_

    def run(self, on_epoch=None) -> None:
        """Train until every variant has stopped; on_epoch(records) after each epoch."""
        while not self.finished:
            records = self.train_epoch()
            if on_epoch is not None:
                on_epoch(records)

    def table(self) -> list[dict]:
        """Per variant: its final and best numbers and its status."""
        rows = []
        for (name, settings, _), trainer in zip(self.variants, self.trainers):
            h = trainer.history
            last = h[-1] if h else None

            def best(key, pick, h=h):
                values = [getattr(r, key) for r in h if getattr(r, key) is not None and math.isfinite(getattr(r, key))]
                return pick(values) if values else None

            rows.append({
                "variant": name, "settings": settings, "epochs": trainer.epoch,
                "train_loss": last.train_loss if last else None, "val_loss": last.val_loss if last else None,
                "train_accuracy": last.train_accuracy if last else None,
                "val_accuracy": last.val_accuracy if last else None,
                "best_train_loss": best("train_loss", min), "best_val_loss": best("val_loss", min),
                "best_val_accuracy": best("val_accuracy", max), "best_epoch": trainer.best_epoch,
                "status": trainer.status,
            })
        return rows


def make_race(exp: Experiment, vary: dict[str, list], source: str = "<experiment>") -> Race:
    """Race(exp, vary), a ConfigError of the experiment re-raised as a RaceError."""
    try:
        return Race(exp, vary, source)
    except ConfigError as err:
        raise RaceError(str(err)) from None
