r"""dlbook: the tested reference implementations of *Deep Learning, Executable*.

Each module serves one topic of the book and says which chapter defines what:

========================  ==================================================
``dlbook.devices``        device choice (:func:`device`) and seeding (Preface, App. A)
``dlbook.data``           the book's offline data sets and the IDX loader
``dlbook.train``          the training loop, metrics, checkpoints
``dlbook.plot``           the book's figure style and common plots
``dlbook.book``           numbers quoted in the prose, checked against bands
``dlbook.grading``        the homework grader used by ``exercises/``
========================  ==================================================
"""

from dlbook.devices import available_devices, device, generator, seed_everything

__version__ = "0.1.0"

__all__ = ["__version__", "available_devices", "device", "generator", "seed_everything"]
