r"""dlbook.generative: the generative models of Part V, one module per family.

========================================  ==================================================
``dlbook.generative.ebm``                 Hopfield nets, RBMs, Langevin, 2-D EBMs (Ch. 14)
``dlbook.generative.vae``                 the ELBO, reparameterisation, VAEs, IWAE (Ch. 15)
``dlbook.generative.gan``                 GAN losses, the optimal discriminator, GANs (Ch. 16)
``dlbook.generative.flows``               affine coupling layers and RealNVP flows (Ch. 17)
``dlbook.generative.diffusion``           DDPM and DDIM: schedules, posterior, samplers (Ch. 17)
``dlbook.generative.metrics``             what every family is measured with (Part V)
========================================  ==================================================

The families share their data (``dlbook.data``), their measurements (``metrics``) and the
last section of Chapter 17, which trains every family on the same data.
"""
