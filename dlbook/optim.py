r"""Optimisers and learning-rate schedules, written from scratch (Chapter 9).

Each optimiser is a pure *update rule*, a function from a parameter, its gradient and the
optimiser's state to the new parameter and state (:func:`sgd_update`,
:func:`adagrad_update`, :func:`rmsprop_update`, :func:`adam_update`), wrapped in a small
class with the interface of ``torch.optim``: build it over a list of tensors, call
:meth:`Optimizer.step` after ``backward()`` and :meth:`Optimizer.zero_grad` before the
next one. Defaults and the order
of every operation follow ``torch.optim`` exactly, so the two produce the same trajectory
(the tests check 100 steps to 1e-6 in float64). The schedules are plain functions of the
step number. Two tools of the training loop live here too: :func:`clip_grad_norm_` and
:class:`EarlyStopping`, which :func:`dlbook.train.fit` applies when asked.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "EarlyStopping",
    "NonFiniteNormError",
    "Optimizer",
    "RMSprop",
    "adagrad_update",
    "adam_update",
    "clip_grad_norm_",
    "cosine_lr",
    "l2_penalty",
    "muon_update",
    "newton_schulz",
    "rmsprop_update",
    "sgd_update",
    "step_lr",
    "warmup_cosine_lr",
]


# --------------------------------------------------------------------------------------
# Checking hyper-parameters
# --------------------------------------------------------------------------------------
def _non_negative(name: str, value: float) -> float:
    # numpy scalars (np.float32(0.1)) and 0-d tensors are numbers; NaN and bool are not
    return _checks.number(name, value, minimum=0.0, what="a number >= 0")


def _unit_interval(name: str, value: float, *, closed: bool = False) -> float:
    """A decay rate such as beta or alpha: in [0, 1) (or [0, 1] when ``closed``)."""
    v = _checks.number(name, value)
    if not (0 <= v <= 1 if closed else 0 <= v < 1):
        raise ValueError(f"{name} must lie in [0, 1{']' if closed else ')'}, got {value!r}")
    return v


def _same_shape(param: Tensor, grad: Tensor, **buffers: Tensor | None) -> None:
    if not isinstance(param, Tensor) or not isinstance(grad, Tensor):
        raise TypeError(
            f"param and grad must be tensors, got {type(param).__name__} and {type(grad).__name__}"
        )
    if not param.dtype.is_floating_point:
        raise TypeError(f"param must be a floating-point tensor, got dtype {param.dtype}")
    for name, tensor in {"grad": grad, **buffers}.items():
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{name} must be a tensor or None, got {type(tensor).__name__}")
        if tensor is not None and tensor.device != param.device:
            raise ValueError(
                f"{name} must be on param's device {param.device}, got {tensor.device}"
            )
        if tensor is not None and tensor.shape != param.shape:
            raise ValueError(
                f"{name} must have the shape of param {tuple(param.shape)}, "
                f"got {tuple(tensor.shape)}"
            )


# --------------------------------------------------------------------------------------
# Update rules (pure functions)
# --------------------------------------------------------------------------------------
def sgd_update(
    param: Tensor,
    grad: Tensor,
    buffer: Tensor | None = None,
    *,
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> tuple[Tensor, Tensor | None]:
    r"""One step of stochastic gradient descent, with optional (Nesterov) momentum.

    With :math:`\mathbf{g} = \nabla \hat R(\btheta_t) + \omega \btheta_t` (weight decay as
    an L2 term), the momentum buffer and the step are, in ``torch.optim.SGD``'s convention,

    .. math::

        \mathbf{m}_t = \beta \mathbf{m}_{t-1} + (1 - \tau)\,\mathbf{g}
        \quad (\mathbf{m}_1 = \mathbf{g}), \qquad
        \btheta_{t+1} = \btheta_t - \eta
        \begin{cases} \mathbf{g} + \beta \mathbf{m}_t & \text{Nesterov} \\
                      \mathbf{m}_t & \text{heavy ball} \end{cases}

    and plain SGD, :math:`\btheta_{t+1} = \btheta_t - \eta \mathbf{g}`, when :math:`\beta = 0`.
    Defined in Chapter 9 (momentum).

    Parameters
    ----------
    param, grad : Tensor, any shape
        :math:`\btheta_t` and :math:`\nabla \hat R(\btheta_t)`, of the same shape.
    buffer : Tensor or None, default None
        :math:`\mathbf{m}_{t-1}`; ``None`` on the first step (then :math:`\mathbf{m}_1 =
        \mathbf{g}`, undamped, as in PyTorch).
    lr : float, default 1e-3
        Learning rate :math:`\eta` (PyTorch's default).
    momentum : float, default 0
        :math:`\beta \in [0, 1)`.
    dampening : float, default 0
        :math:`\tau \in [0, 1)`.
    weight_decay : float, default 0
        :math:`\omega \ge 0`, added to the gradient as :math:`\omega \btheta_t`.
    nesterov : bool, default False
        Look ahead along the buffer; needs ``momentum > 0`` and ``dampening == 0``.

    Returns
    -------
    (Tensor, Tensor or None)
        :math:`\btheta_{t+1}` and :math:`\mathbf{m}_t` (``None`` without momentum). The
        inputs are not modified.

    Raises
    ------
    ValueError
        If a hyper-parameter is out of range or the shapes differ.

    References
    ----------
    .. [1] I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> p, b = sgd_update(torch.tensor([1.0]), torch.tensor([2.0]), lr=0.1, momentum=0.9)
    >>> p, b
    (tensor([0.8000]), tensor([2.]))
    """
    _same_shape(param, grad, buffer=buffer)
    _non_negative("lr", lr)
    _unit_interval("momentum", momentum)
    _unit_interval("dampening", dampening, closed=True)  # 1 is allowed, as in torch
    _non_negative("weight_decay", weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"nesterov needs momentum > 0 and dampening == 0, got momentum={momentum}, "
            f"dampening={dampening}"
        )
    if weight_decay != 0:
        grad = grad + weight_decay * param  # L2: the gradient of (omega/2) ||theta||^2
    if momentum != 0:
        buffer = (
            grad.clone()  # m_1 = g: PyTorch does not damp the first step
            if buffer is None
            else momentum * buffer + (1 - dampening) * grad
        )
        grad = grad + momentum * buffer if nesterov else buffer
    return param - lr * grad, buffer


def adagrad_update(
    param: Tensor,
    grad: Tensor,
    state_sum: Tensor,
    step: int,
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
) -> tuple[Tensor, Tensor]:
    r"""One step of AdaGrad: divide the gradient by the root of all its past squares.

    .. math::

        \mathbf{s}_t = \mathbf{s}_{t-1} + \mathbf{g} \odot \mathbf{g}, \qquad
        \btheta_{t+1} = \btheta_t - \frac{\eta}{1 + (t - 1)\, d}\,
        \frac{\mathbf{g}}{\sqrt{\mathbf{s}_t} + \epsilon}

    with :math:`\mathbf{g} = \nabla \hat R(\btheta_t) + \omega \btheta_t`, the learning-rate
    decay :math:`d` (zero by default) and :math:`\mathbf{s}_0` the initial accumulator
    value; :math:`\epsilon` sits outside the square root, as in ``torch.optim.Adagrad``.
    Defined in Chapter 9 (adaptive methods).

    Parameters
    ----------
    param, grad, state_sum : Tensor, same shape
        :math:`\btheta_t`, its gradient and :math:`\mathbf{s}_{t-1}`.
    step : int
        :math:`t \ge 1`, the number of this step (it sets the decayed rate).
    lr : float, default 1e-2
        :math:`\eta`.
    lr_decay : float, default 0
        :math:`d \ge 0`.
    weight_decay : float, default 0
        :math:`\omega \ge 0`, added to the gradient as :math:`\omega \btheta_t`.
    eps : float, default 1e-10

    Returns
    -------
    (Tensor, Tensor)
        :math:`\btheta_{t+1}` and :math:`\mathbf{s}_t`. The inputs are not modified.

    Raises
    ------
    ValueError
        If a hyper-parameter is out of range, ``step < 1`` or the shapes differ.

    References
    ----------
    .. [1] J. Duchi, E. Hazan, Y. Singer, "Adaptive subgradient methods for online learning
       and stochastic optimization", JMLR 12, 2011.

    Examples
    --------
    >>> p, s = adagrad_update(torch.tensor([1.0]), torch.tensor([2.0]), torch.zeros(1), 1)
    >>> round(p.item(), 4), s
    (0.99, tensor([4.]))
    """
    _same_shape(param, grad, state_sum=state_sum)
    _non_negative("lr", lr)
    _non_negative("lr_decay", lr_decay)
    _non_negative("weight_decay", weight_decay)
    _non_negative("eps", eps)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be an int >= 1 (steps count from 1), got {step!r}")
    if weight_decay != 0:
        grad = grad + weight_decay * param  # L2 in the gradient, as in torch
    clr = lr / (1 + (step - 1) * lr_decay)  # the decayed rate
    state_sum = state_sum + grad * grad  # every past square, never forgotten
    return param - clr * (grad / (state_sum.sqrt() + eps)), state_sum


def rmsprop_update(
    param: Tensor,
    grad: Tensor,
    square_avg: Tensor,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor]:
    r"""One step of RMSProp: divide the gradient by a running root mean square.

    .. math::

        \mathbf{v}_t = \alpha \mathbf{v}_{t-1} + (1 - \alpha)\, \mathbf{g} \odot \mathbf{g},
        \qquad
        \btheta_{t+1} = \btheta_t - \eta\, \frac{\mathbf{g}}{\sqrt{\mathbf{v}_t} + \epsilon}

    with :math:`\mathbf{g} = \nabla \hat R(\btheta_t) + \omega \btheta_t` and
    :math:`\mathbf{v}_0 = \mathbf{0}`; :math:`\epsilon` sits *outside* the square root, as
    in ``torch.optim.RMSprop``. Defined in Chapter 9 (adaptive methods).

    Parameters
    ----------
    param, grad, square_avg : Tensor, same shape
        :math:`\btheta_t`, its gradient and :math:`\mathbf{v}_{t-1}` (zeros at the start).
    lr : float, default 1e-2
    alpha : float, default 0.99
        Decay of the running average, in :math:`[0, 1)`.
    eps : float, default 1e-8
    weight_decay : float, default 0

    Returns
    -------
    (Tensor, Tensor)
        :math:`\btheta_{t+1}` and :math:`\mathbf{v}_t`.

    Raises
    ------
    ValueError
        If a hyper-parameter is out of range or the shapes differ.

    References
    ----------
    .. [1] T. Tieleman, G. Hinton, Lecture 6.5, "rmsprop", COURSERA: Neural Networks for
       Machine Learning, 2012.

    Examples
    --------
    >>> p, v = rmsprop_update(torch.tensor([1.0]), torch.tensor([2.0]), torch.zeros(1))
    >>> round(p.item(), 4), round(v.item(), 4)
    (0.9, 0.04)
    """
    _same_shape(param, grad, square_avg=square_avg)
    _non_negative("lr", lr)
    _unit_interval("alpha", alpha)
    _non_negative("eps", eps)
    _non_negative("weight_decay", weight_decay)
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = alpha * square_avg + (1 - alpha) * (grad * grad)
    return param - lr * (grad / (square_avg.sqrt() + eps)), square_avg


def adam_update(
    param: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    step: int,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""One step of Adam (or, with ``decoupled=True``, of AdamW).

    With :math:`\mathbf{g}` the gradient (plus :math:`\omega \btheta_t` for Adam's L2
    weight decay),

    .. math::

        \mathbf{m}_t = \beta_1 \mathbf{m}_{t-1} + (1 - \beta_1)\, \mathbf{g}, \qquad
        \mathbf{v}_t = \beta_2 \mathbf{v}_{t-1} + (1 - \beta_2)\, \mathbf{g} \odot \mathbf{g},

        \btheta_{t+1} = \btheta_t - \frac{\eta}{1 - \beta_1^t}\,
        \frac{\mathbf{m}_t}{\sqrt{\mathbf{v}_t} / \sqrt{1 - \beta_2^t} + \epsilon}.

    AdamW first shrinks the parameter, :math:`\btheta_t \leftarrow (1 - \eta\omega)
    \btheta_t`, and leaves the gradient alone. Defined in Chapter 9 (Adam).

    Parameters
    ----------
    param, grad, m, v : Tensor, same shape
        :math:`\btheta_t`, its gradient and the moments :math:`\mathbf{m}_{t-1},
        \mathbf{v}_{t-1}` (zeros at the start).
    step : int
        :math:`t \ge 1`, the number of this step (for the bias correction).
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
    eps : float, default 1e-8
    weight_decay : float, default 0
        :math:`\omega`: an L2 term in the gradient, or decoupled decay if ``decoupled``.
    decoupled : bool, default False
        AdamW's decoupled weight decay.

    Returns
    -------
    (Tensor, Tensor, Tensor)
        :math:`\btheta_{t+1}`, :math:`\mathbf{m}_t`, :math:`\mathbf{v}_t`.

    Raises
    ------
    ValueError
        If a hyper-parameter is out of range, ``step < 1`` or the shapes differ.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A method for stochastic optimization", ICLR 2015.
    .. [2] I. Loshchilov, F. Hutter, "Decoupled weight decay regularization", ICLR 2019.

    Examples
    --------
    >>> p, m, v = adam_update(torch.tensor([1.0]), torch.tensor([2.0]), torch.zeros(1),
    ...                       torch.zeros(1), 1, lr=0.1)
    >>> round(p.item(), 4)
    0.9
    """
    _same_shape(param, grad, m=m, v=v)
    _non_negative("lr", lr)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = _unit_interval("betas[0]", betas[0])
    beta2 = _unit_interval("betas[1]", betas[1])
    _non_negative("eps", eps)
    _non_negative("weight_decay", weight_decay)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be an int >= 1 (steps count from 1), got {step!r}")
    if weight_decay != 0:
        if decoupled:
            param = param * (1 - lr * weight_decay)  # AdamW: shrink theta, not the gradient
        else:
            grad = grad + weight_decay * param  # Adam: L2 in the gradient
    m = beta1 * m + (1 - beta1) * grad  # first moment
    v = beta2 * v + (1 - beta2) * (grad * grad)  # second moment
    step_size = lr / (1 - beta1**step)  # bias correction of m
    denom = v.sqrt() / math.sqrt(1 - beta2**step) + eps  # of v; eps outside the sqrt
    return param - step_size * (m / denom), m, v


#: The quintic Newton-Schulz coefficients of Jordan et al. (2024), PyTorch's defaults.
NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)


def newton_schulz(
    matrix: Tensor,
    steps: int = 5,
    coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    eps: float = 1e-7,
) -> Tensor:
    r"""Approximately orthogonalise a matrix by the Newton-Schulz iteration of Muon.

    Scale :math:`X_0 = G / \lVert G \rVert_F` (so every singular value is at most 1), then
    iterate the odd quintic

    .. math:: X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \qquad A_k = X_k X_k^\top,

    which maps each singular value :math:`s` to :math:`p(s) = a s + b s^3 + c s^5` and
    leaves the singular vectors alone. With Jordan et al.'s coefficients :math:`(a, b, c)
    = (3.4445, -4.775, 2.0315)` the slope at 0 is large, so five steps push even small
    singular values into roughly :math:`[0.7, 1.2]` instead of converging to exactly 1
    (Chapter 13, Muon). As in ``torch.optim.Muon`` the products run in bfloat16, and a
    tall matrix is transposed first so that :math:`A_k` is the smaller Gram matrix.

    Parameters
    ----------
    matrix : Tensor, shape (m, n), floating point
    steps : int, default 5
    coefficients : (float, float, float), default (3.4445, -4.775, 2.0315)
    eps : float, default 1e-7
        The floor of the norm (``norm.clamp(min=eps)``), so that a zero matrix stays zero.

    Returns
    -------
    Tensor, shape (m, n), bfloat16

    Raises
    ------
    TypeError
        If ``matrix`` is not a floating-point tensor.
    ValueError
        If ``matrix`` is not 2-D, ``steps`` is not a positive integer or ``coefficients``
        is not three numbers.

    References
    ----------
    K. Jordan, Y. Jin, V. Boza, J. You, F. Cesista, L. Newhouse and J. Bernstein, "Muon: an
    optimizer for hidden layers in neural networks", 2024.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> s = torch.linalg.svdvals(newton_schulz(torch.randn(4, 6, generator=g)).float())
    >>> bool(((s > 0.6) & (s < 1.25)).all())
    True
    """
    matrix = _checks.float_tensor("matrix", matrix, ndim=2)
    _positive_int("steps", steps)
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
        raise ValueError(f"`coefficients` must be three numbers (a, b, c), got {coefficients!r}")
    a, b, c = (float(v) for v in coefficients)
    _non_negative("eps", eps)
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.bfloat16()
    if tall:
        x = x.T  # (n, m): the Gram matrix below is the smaller one
    x = x / x.norm().clamp(min=eps)  # every singular value now at most 1
    for _ in range(steps):
        gram = x @ x.T  # A_k
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)  # b A + c A^2
        x = torch.addmm(x, poly, x, beta=a)  # a X + (b A + c A^2) X
    return x.T if tall else x


def muon_update(
    param: Tensor,
    grad: Tensor,
    buffer: Tensor,
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.1,
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One step of Muon on a weight matrix: momentum, orthogonalised, as the update.

    .. math::

        B_t = \mu B_{t-1} + (1 - \mu)\, G, \qquad
        O_t = \mathrm{NS}\bigl((1 - \mu)\, G + \mu B_t\bigr) \text{ (Nesterov) or }
        \mathrm{NS}(B_t),

        W_{t+1} = (1 - \eta\omega)\, W_t - \eta'\, O_t,

    with :math:`\mathrm{NS}` :func:`newton_schulz` and :math:`\eta' = \eta \sqrt{\max(1,
    m/n)}` (Jordan et al., ``adjust_lr_fn=None`` or ``"original"``) or :math:`\eta' = 0.2
    \eta \sqrt{\max(m, n)}` (``"match_rms_adamw"``, Liu et al. 2025: an update of the RMS
    AdamW's typically has, so that AdamW's rate and decay carry over). The buffer is
    PyTorch's: an exponential average (``lerp``), so Nesterov's look-ahead is
    :math:`G` interpolated towards :math:`B_t`. The same operations as
    ``torch.optim.Muon``, in its order (Chapter 13, Muon).

    Parameters
    ----------
    param, grad, buffer : Tensor, shape (m, n), same shape
        :math:`W_t`, its gradient and :math:`B_{t-1}` (zeros at the start).
    lr : float, default 1e-3
    weight_decay : float, default 0.1
        :math:`\omega`, decoupled as in AdamW.
    momentum : float, default 0.95
        :math:`\mu \in [0, 1)`.
    nesterov : bool, default True
    ns_steps : int, default 5
    adjust_lr_fn : {None, "original", "match_rms_adamw"}, default None

    Returns
    -------
    (Tensor, Tensor)
        :math:`W_{t+1}` and :math:`B_t`; the inputs are not modified.

    Raises
    ------
    TypeError
        If ``param`` is not floating point or ``grad`` and ``buffer`` have another dtype.
    ValueError
        If the tensors are not 2-D of one shape or a hyper-parameter is out of range.

    References
    ----------
    K. Jordan et al., "Muon: an optimizer for hidden layers in neural networks", 2024.
    J. Liu et al., "Muon is scalable for LLM training", arXiv:2502.16982, 2025.

    Examples
    --------
    >>> w, b = muon_update(torch.eye(2), torch.eye(2), torch.zeros(2, 2), lr=0.1,
    ...                    weight_decay=0.0, nesterov=False)
    >>> w  # the identity's singular values 1/sqrt(2), pushed by NS to about 1.12
    tensor([[0.8875, 0.0000],
            [0.0000, 0.8875]])
    """
    _same_shape(param, grad, buffer=buffer)
    if param.ndim != 2:
        raise ValueError(f"Muon updates 2-D weight matrices, got shape {tuple(param.shape)}")
    for name, tensor in (("grad", grad), ("buffer", buffer)):
        if tensor.dtype != param.dtype:
            raise TypeError(f"`{name}` must have param's dtype {param.dtype}, got {tensor.dtype}")
    _non_negative("lr", lr)
    _non_negative("weight_decay", weight_decay)
    _unit_interval("momentum", momentum)
    if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
        raise ValueError(
            f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got {adjust_lr_fn!r}"
        )
    buffer = buffer.lerp(grad, 1 - momentum)  # B_t = mu B + (1 - mu) G
    update = grad.lerp(buffer, momentum) if nesterov else buffer
    ortho = newton_schulz(update, ns_steps).to(param.dtype)
    rows, cols = param.shape
    if adjust_lr_fn == "match_rms_adamw":
        scale = 0.2 * math.sqrt(max(rows, cols))
    else:
        scale = math.sqrt(max(1.0, rows / cols))
    return param * (1 - lr * weight_decay) - (lr * scale) * ortho, buffer


def l2_penalty(params: Iterable[Tensor], weight_decay: float) -> Tensor:
    r"""The L2 regulariser :math:`\frac{\omega}{2} \sum_j \lVert \btheta_j \rVert^2`.

    Its gradient is :math:`\omega \btheta`, the term SGD's ``weight_decay`` adds to the
    gradient. Defined in Chapter 9 (weight decay).

    Parameters
    ----------
    params : iterable of Tensor
        The parameters (at least one).
    weight_decay : float
        :math:`\omega \ge 0`.

    Returns
    -------
    Tensor
        A scalar on the parameters' device.

    Raises
    ------
    ValueError
        If ``params`` is empty or ``weight_decay`` is negative.

    Examples
    --------
    >>> l2_penalty([torch.tensor([3.0, 4.0])], 0.1)
    tensor(1.2500)
    """
    _non_negative("weight_decay", weight_decay)
    tensors = list(params)
    if not tensors:
        raise ValueError("params must hold at least one tensor, got none")
    return 0.5 * weight_decay * sum((p * p).sum() for p in tensors)  # type: ignore[return-value]


class NonFiniteNormError(ValueError, RuntimeError):
    """The total gradient norm is NaN or infinite and ``error_if_nonfinite`` was set.

    Both a ``ValueError`` (the book's rule for bad input) and a ``RuntimeError`` (what
    ``torch.nn.utils.clip_grad_norm_`` raises), so code written for either catches it.
    """


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Rescale the gradients in place so that their joint norm is at most ``max_norm``.

    With :math:`\mathbf{g}` all the gradients seen as one vector and
    :math:`c = \min\bigl(1, \, c_{\max} / (\lVert \mathbf{g} \rVert_p + 10^{-6})\bigr)`,

    .. math:: \mathbf{g} \leftarrow c\, \mathbf{g},

    which leaves the direction of the step alone and caps its length. The norm is the
    :math:`L^p` norm of the per-tensor norms (the largest absolute entry for
    :math:`p = \infty`), computed in the gradients' dtype, exactly as
    ``torch.nn.utils.clip_grad_norm_``, whose name, arguments and defaults this has.
    Defined in Chapter 9 (gradient clipping).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Tensors whose ``.grad`` is rescaled; those without a gradient are skipped.
    max_norm : float
        :math:`c_{\max} \ge 0`.
    norm_type : float, default 2.0
        :math:`p > 0`, or ``float("inf")``.
    error_if_nonfinite : bool, default False
        Raise if the total norm is NaN or infinite (else the gradients become NaN or
        stay as they are, as in torch).
    foreach : bool or None, default None
        Accepted for the same signature; the result is the same either way.

    Returns
    -------
    Tensor
        The total norm *before* clipping, a scalar on the first gradient's device
        (``tensor(0.)`` if no parameter has a gradient).

    Raises
    ------
    TypeError
        If ``parameters`` holds something other than tensors.
    ValueError
        If ``max_norm`` is negative or ``norm_type`` is not positive.
    NonFiniteNormError
        If ``error_if_nonfinite`` and the total norm is not finite: a ``ValueError`` and
        also a ``RuntimeError``, the type torch raises.

    References
    ----------
    .. [1] R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent
       neural networks", ICML 2013.

    Examples
    --------
    >>> w = torch.tensor([1.0, 1.0], requires_grad=True)
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], 1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters[{i}] must be a tensor, got {type(p).__name__}")
    _non_negative("max_norm", max_norm)
    p_norm = _checks.number("norm_type", norm_type, finite=False)
    if not p_norm > 0:
        raise ValueError(f"norm_type must be > 0 (or inf), got {norm_type!r}")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    first = grads[0].device
    # the norm of the per-tensor norms is the norm of all entries together
    norms = torch.stack(
        [torch.linalg.vector_norm(g.detach(), p_norm).to(first) for g in grads]
    )  # (number of tensors,)
    total: Tensor = torch.linalg.vector_norm(norms, p_norm)
    if error_if_nonfinite and not bool(torch.isfinite(total)):
        raise NonFiniteNormError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)  # 1: leave small gradients
    for g in grads:
        g.detach().mul_(coef.to(g.device))
    return total


# --------------------------------------------------------------------------------------
# Optimisers with the torch.optim interface
# --------------------------------------------------------------------------------------
class Optimizer(abc.ABC):
    r"""Base class: a list of parameters, a state per parameter, ``step`` and ``zero_grad``.

    Abstract: a subclass implements :meth:`update`, one pure update rule applied to each
    parameter that has a gradient; :meth:`step` writes the results back into the parameters in place
    (as ``torch.optim`` does, so a model sees its new weights). ``lr`` is a plain attribute:
    a schedule sets it before each step.

    Raises
    ------
    TypeError
        If ``params`` holds something other than tensors.
    ValueError
        If ``params`` is empty or ``lr`` is negative.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params must hold at least one tensor, got an empty list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{i}] must be a tensor, got {type(p).__name__}")
        self.lr = _non_negative("lr", lr)
        self.state: list[dict[str, Tensor | int | None]] = [{} for _ in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, or zeros if ``set_to_none`` is false)."""
        for p in self.params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                state["step"] = int(state.get("step") or 0) + 1
                p.copy_(self.update(p.detach(), p.grad, state))

    @abc.abstractmethod
    def update(self, param: Tensor, grad: Tensor, state: dict[str, Tensor | int | None]) -> Tensor:
        """Return the new value of ``param``, updating ``state`` (each optimiser's rule)."""


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    Applies :func:`sgd_update` to each parameter; the state holds the momentum buffer.
    Defined in Chapter 9 (momentum).

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w**2).sum().backward(); opt.step()
    >>> w
    tensor([0.8000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _unit_interval("momentum", momentum)
        self.dampening = _unit_interval("dampening", dampening, closed=True)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening == 0")
        self.nesterov = nesterov

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Tensor | int | None]) -> Tensor:
        buffer = state.get("momentum_buffer")
        new, state["momentum_buffer"] = sgd_update(
            param,
            grad,
            buffer if isinstance(buffer, Tensor) else None,
            lr=self.lr,
            momentum=self.momentum,
            dampening=self.dampening,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
        )
        return new


class Adagrad(Optimizer):
    r"""AdaGrad, as ``torch.optim.Adagrad``.

    Applies :func:`adagrad_update`; the state holds the sum of squared gradients, which
    starts at ``initial_accumulator_value``. Defined in Chapter 9 (adaptive methods).

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.1)
    >>> (w**2).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        self.lr_decay = _non_negative("lr_decay", lr_decay)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.initial_accumulator_value = _non_negative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.eps = _non_negative("eps", eps)

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Tensor | int | None]) -> Tensor:
        state_sum = state.get("sum")
        if not isinstance(state_sum, Tensor):
            state_sum = torch.full_like(param, self.initial_accumulator_value)
        new, state["sum"] = adagrad_update(
            param,
            grad,
            state_sum,
            int(state["step"] or 1),
            lr=self.lr,
            lr_decay=self.lr_decay,
            weight_decay=self.weight_decay,
            eps=self.eps,
        )
        return new


class RMSprop(Optimizer):
    r"""RMSProp, as ``torch.optim.RMSprop`` (without its momentum and centred options).

    Applies :func:`rmsprop_update`; the state holds the running mean square.
    Defined in Chapter 9 (adaptive methods).

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> (w**2).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = _unit_interval("alpha", alpha)
        self.eps = _non_negative("eps", eps)
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Tensor | int | None]) -> Tensor:
        square_avg = state.get("square_avg")
        if not isinstance(square_avg, Tensor):
            square_avg = torch.zeros_like(param)
        new, state["square_avg"] = rmsprop_update(
            param,
            grad,
            square_avg,
            lr=self.lr,
            alpha=self.alpha,
            eps=self.eps,
            weight_decay=self.weight_decay,
        )
        return new


class Adam(Optimizer):
    r"""Adam with L2 weight decay in the gradient, as ``torch.optim.Adam``.

    Applies :func:`adam_update`; the state holds the two moments and the step count.
    Defined in Chapter 9 (Adam).

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w**2).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    decoupled = False

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_unit_interval("betas[0]", betas[0]), _unit_interval("betas[1]", betas[1]))
        self.eps = _non_negative("eps", eps)
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Tensor | int | None]) -> Tensor:
        m, v = state.get("exp_avg"), state.get("exp_avg_sq")
        new, state["exp_avg"], state["exp_avg_sq"] = adam_update(
            param,
            grad,
            m if isinstance(m, Tensor) else torch.zeros_like(param),
            v if isinstance(v, Tensor) else torch.zeros_like(param),
            int(state["step"] or 1),
            lr=self.lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            decoupled=self.decoupled,
        )
        return new


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW`` (default decay 0.01).

    Defined in Chapter 9 (weight decay).

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w**2).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.85
    """

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


# --------------------------------------------------------------------------------------
# Early stopping
# --------------------------------------------------------------------------------------
class EarlyStopping:
    r"""Stop when the validation loss has not improved for ``patience`` epochs; keep the best.

    After each epoch :math:`t` with validation loss :math:`L_t`, call :meth:`step`. The
    epoch is an improvement if :math:`L_t < L_{\text{best}} - \Delta` (``min_delta``); then
    its weights are copied and the count of epochs without improvement starts again from
    zero. :meth:`step` returns ``True`` once ``patience`` epochs in a row have not improved.
    ``dlbook.train.fit(..., early_stopping=...)`` uses it and, when it stops (or runs out of
    epochs), loads the best weights back into the model. Defined in Chapter 9 (early
    stopping).

    Parameters
    ----------
    patience : int
        Epochs without improvement tolerated before stopping, :math:`\ge 1`.
    min_delta : float, default 0
        How much lower than the best a loss must be to count as an improvement.
    restore_best : bool, default True
        Whether ``fit`` loads the best weights back at the end.

    Attributes
    ----------
    best_epoch : int or None
        The epoch of the lowest validation loss so far.
    best_value : float
        That loss (``inf`` before the first epoch).
    best_state : dict or None
        A copy of the model's ``state_dict`` at ``best_epoch``.
    stopped_epoch : int or None
        The epoch at which :meth:`step` first returned ``True``.

    Raises
    ------
    ValueError
        If ``patience`` is not an int >= 1 or ``min_delta`` is negative.

    References
    ----------
    .. [1] L. Prechelt, "Early stopping - but when?", in Neural Networks: Tricks of the
       Trade, Springer, 1998.

    Examples
    --------
    >>> stopper, model = EarlyStopping(patience=2), torch.nn.Linear(1, 1)
    >>> [stopper.step(epoch, loss, model) for epoch, loss in enumerate([3, 2, 2.5, 2.2], 1)]
    [False, False, False, True]
    >>> stopper.best_epoch, stopper.stopped_epoch
    (2, 4)
    """

    def __init__(self, patience: int, min_delta: float = 0.0, restore_best: bool = True) -> None:
        self.patience = _checks.positive_int("patience", patience)
        self.min_delta = _non_negative("min_delta", min_delta)
        self.restore_best = bool(restore_best)
        self.best_value = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.stopped_epoch: int | None = None
        self.bad_epochs = 0

    def step(self, epoch: int, value: float, model: torch.nn.Module) -> bool:
        """Record epoch ``epoch``'s validation loss ``value``; ``True`` means stop now."""
        value = float(value)
        if value < self.best_value - self.min_delta:  # NaN never improves
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        if self.bad_epochs >= self.patience and self.stopped_epoch is None:
            self.stopped_epoch = epoch
        return self.bad_epochs >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best weights seen into ``model`` (nothing happens before any epoch)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


# --------------------------------------------------------------------------------------
# Learning-rate schedules: pure functions of the step
# --------------------------------------------------------------------------------------
def _step_number(step: int) -> int:
    return _checks.positive_int("step", step, minimum=0)


def _positive_int(name: str, value: int) -> int:
    return _checks.positive_int(name, value)


def step_lr(step: int, *, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: multiply the learning rate by :math:`\gamma` every ``step_size`` steps.

    .. math:: \eta_t = \eta\, \gamma^{\lfloor t / s \rfloor}

    The value ``torch.optim.lr_scheduler.StepLR`` gives after ``step`` calls of its
    ``step()``. Defined in Chapter 9 (schedules).

    Parameters
    ----------
    step : int
        :math:`t \ge 0`.
    lr : float
        The initial rate :math:`\eta \ge 0`.
    step_size : int
        :math:`s \ge 1`.
    gamma : float, default 0.1

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> [step_lr(t, lr=1.0, step_size=2, gamma=0.5) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    _step_number(step)
    _non_negative("lr", lr)
    _positive_int("step_size", step_size)
    _non_negative("gamma", gamma)
    return lr * gamma ** (step // step_size)


def cosine_lr(step: int, *, lr: float, total_steps: int, lr_min: float = 0.0) -> float:
    r"""Cosine annealing from :math:`\eta` down to :math:`\eta_{\min}` over :math:`T` steps.

    .. math::

        \eta_t = \eta_{\min} + \tfrac{1}{2} (\eta - \eta_{\min})
        \bigl(1 + \cos(\pi t / T)\bigr), \qquad 0 \le t \le T,

    and :math:`\eta_{\min}` after :math:`T` (``CosineAnnealingLR`` would climb again: it is
    periodic). Defined in Chapter 9 (schedules).

    Parameters
    ----------
    step : int
        :math:`t \ge 0`.
    lr : float
        Peak rate :math:`\eta`.
    total_steps : int
        :math:`T \ge 1`.
    lr_min : float, default 0

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an argument is out of range.

    References
    ----------
    .. [1] I. Loshchilov, F. Hutter, "SGDR: Stochastic gradient descent with warm
       restarts", ICLR 2017.

    Examples
    --------
    >>> [round(cosine_lr(t, lr=1.0, total_steps=4), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    _step_number(step)
    _non_negative("lr", lr)
    _positive_int("total_steps", total_steps)
    _non_negative("lr_min", lr_min)
    t = min(step, total_steps)
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * t / total_steps))


def warmup_cosine_lr(
    step: int,
    *,
    lr: float,
    warmup_steps: int,
    total_steps: int,
    lr_min: float = 0.0,
    start_factor: float = 0.1,
) -> float:
    r"""Linear warm-up for :math:`W` steps, then cosine annealing until step :math:`T`.

    .. math::

        \eta_t = \begin{cases}
        \eta \bigl(s + (1 - s)\, t / W\bigr) & 0 \le t < W, \\
        \eta_{\min} + \tfrac12 (\eta - \eta_{\min})
        \bigl(1 + \cos\bigl(\pi \tfrac{t - W}{T - W}\bigr)\bigr) & W \le t \le T, \\
        \eta_{\min} & t > T,
        \end{cases}

    what ``LinearLR(start_factor=s, total_iters=W)`` followed by
    ``CosineAnnealingLR(T_max=T - W)`` in a ``SequentialLR`` gives. Defined in Chapter 9
    (schedules).

    Parameters
    ----------
    step : int
        :math:`t \ge 0`.
    lr : float
        Peak rate :math:`\eta`.
    warmup_steps : int
        :math:`W \ge 0` (0: no warm-up).
    total_steps : int
        :math:`T > W`.
    lr_min : float, default 0
    start_factor : float, default 0.1
        :math:`s \in (0, 1]`: the warm-up starts at :math:`s\eta`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an argument is out of range or ``total_steps <= warmup_steps``.

    Examples
    --------
    >>> [round(warmup_cosine_lr(t, lr=1.0, warmup_steps=2, total_steps=4), 3)
    ...  for t in range(5)]
    [0.1, 0.55, 1.0, 0.5, 0.0]
    """
    _step_number(step)
    _non_negative("lr", lr)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}")
    _positive_int("total_steps", total_steps)
    if total_steps <= warmup_steps:
        raise ValueError(
            f"total_steps must exceed warmup_steps, got total_steps={total_steps}, "
            f"warmup_steps={warmup_steps}"
        )
    _non_negative("lr_min", lr_min)
    if isinstance(start_factor, bool) or not 0 < start_factor <= 1:
        raise ValueError(f"start_factor must lie in (0, 1], got {start_factor!r}")
    if step < warmup_steps:
        return lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    return cosine_lr(
        step - warmup_steps, lr=lr, total_steps=total_steps - warmup_steps, lr_min=lr_min
    )


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
