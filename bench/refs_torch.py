"""Hand-written PyTorch GAN steps, as in pytorch/examples' dcgan/main.py.

The networks are nn.Modules written out layer by layer to match
dcgan_keras.models exactly (same layers, "same" output sizes, N(0, 0.02)
init, BatchNorm gamma N(1, 0.02), momentum 0.1 = Keras 0.9, eps 1e-3 as in
Keras, dropout 0.3 in D, Adam(2e-4, 0.5, eps=1e-7) as in Keras). Layout NCHW.
Algorithms:

- "seq1" (pytorch/examples): fake = G(z) once; D update on real and
  fake.detach(); then G update on D(fake) through the updated D, reusing the
  graph of G(z). Like the example, the G update's backward also fills D's
  .grad (thrown away by the next netD.zero_grad()).
- "seq1_nograd": seq1, with D's parameters set requires_grad_(False) during the
  G update, so its backward skips D's weight gradients.
- "seq2" (what DCGAN.gan_step does): D update on G(z1) computed under no_grad,
  then G update on D(G(z2)) with fresh noise (D frozen as in seq1_nograd).
"""

import contextlib

import torch
from torch import nn


def _init(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _act(name):
    return nn.LeakyReLU(0.2) if name == "leaky_relu" else nn.ReLU()


class Generator(nn.Module):
    def __init__(self, latent_dim, start, filters, kernel_size, activation, channels, strides):
        super().__init__()
        self.start, self.c0 = start, filters[0]
        self.project = nn.Sequential(
            nn.Linear(latent_dim, start * start * filters[0], bias=False),
            nn.BatchNorm1d(start * start * filters[0], momentum=0.1, eps=1e-3),
            _act(activation),
        )
        layers, c_in = [], filters[0]
        outs = list(filters[1:]) + [channels]
        for i, (c_out, s) in enumerate(zip(outs, strides)):
            layers.append(_conv_t(c_in, c_out, kernel_size, s))
            if i < len(outs) - 1:  # every block but the output layer
                layers += [nn.BatchNorm2d(c_out, momentum=0.1, eps=1e-3), _act(activation)]
            c_in = c_out
        layers.append(nn.Tanh())
        self.body = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, z):
        # Keras's Dense -> BN -> act -> Reshape(start, start, c0) in NHWC order.
        x = self.project(z).view(-1, self.start, self.start, self.c0).permute(0, 3, 1, 2)
        return self.body(x)


def _conv_t(c_in, c_out, k, s):
    # Output size = s * input size, as Keras padding="same".
    if s == 1:
        return nn.ConvTranspose2d(c_in, c_out, k, 1, padding=(k - 1) // 2, bias=False)
    if k == 5:
        return nn.ConvTranspose2d(c_in, c_out, 5, 2, padding=2, output_padding=1, bias=False)
    return nn.ConvTranspose2d(c_in, c_out, 4, 2, padding=1, bias=False)


class Discriminator(nn.Module):
    def __init__(self, image_size, channels, filters, kernel_size, batch_norm, dropout=0.3):
        super().__init__()
        layers, c_in, size = [], channels, image_size
        for i, f in enumerate(filters):
            pad = 2 if kernel_size == 5 else 1
            layers.append(nn.Conv2d(c_in, f, kernel_size, 2, padding=pad))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(f, momentum=0.1, eps=1e-3))
            layers += [nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            c_in, size = f, (size + 1) // 2
        layers += [nn.Flatten(), nn.Linear(c_in * size * size, 1)]
        self.body = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, x):
        return self.body(x)


def build(preset, latent_dim=100):
    """(G, D) matching dcgan_keras.models' preset."""
    if preset == "tf_tutorial":
        g = Generator(latent_dim, 7, (256, 128, 64), 5, "leaky_relu", 1, strides=(1, 2, 2))
        d = Discriminator(28, 1, (64, 128), 5, batch_norm=False)
    elif preset == "dcgan64":
        g = Generator(latent_dim, 4, (512, 256, 128, 64), 4, "relu", 3, strides=(2, 2, 2, 2))
        d = Discriminator(64, 3, (64, 128, 256, 512), 4, batch_norm=True)
    else:
        raise ValueError(f"unknown preset {preset!r}")
    return g, d


class TorchReference:
    def __init__(self, preset, algorithm="seq1", compile_modules=False, mixed_precision=False,
                 channels_last=False, device=None, seed=0):
        torch.manual_seed(seed)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.netG, self.netD = (m.to(self.device) for m in build(preset))
        self.channels_last = channels_last
        if channels_last:
            self.netG = self.netG.to(memory_format=torch.channels_last)
            self.netD = self.netD.to(memory_format=torch.channels_last)
        self.latent_dim = 100
        self.G, self.D = self.netG, self.netD
        if compile_modules:
            self.G, self.D = torch.compile(self.netG), torch.compile(self.netD)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
        self.criterion = nn.BCEWithLogitsLoss()
        self.algorithm = algorithm
        self.mixed = mixed_precision
        cuda = self.device.type == "cuda"
        # mixed_precision: True or "float16" (bfloat16 on CPU, which has no fast
        # float16), or "bfloat16"; loss scaling only where float16 is used.
        self.amp_dtype = torch.float16 if (cuda and mixed_precision != "bfloat16") else torch.bfloat16
        self.scaler = (torch.amp.GradScaler("cuda") if (mixed_precision and self.amp_dtype == torch.float16)
                       else None)

    def _autocast(self):
        if not self.mixed:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _backward(self, loss):
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def _opt_step(self, opt):
        if self.scaler:
            self.scaler.step(opt)
        else:
            opt.step()

    def prepare(self, batches):
        # NHWC float arrays -> NCHW tensors on the device, made before timing.
        out = []
        for b in batches:
            t = torch.from_numpy(b).permute(0, 3, 1, 2).contiguous().to(self.device)
            if self.channels_last:
                t = t.contiguous(memory_format=torch.channels_last)
            out.append(t)
        return out

    def _noise(self, n):
        return torch.randn(n, self.latent_dim, device=self.device)

    def step(self, real):
        b = real.shape[0]
        ones = torch.ones(b, 1, device=self.device)
        zeros = torch.zeros(b, 1, device=self.device)
        freeze_d = self.algorithm in ("seq1_nograd", "seq2")
        # (1) D update
        self.netD.zero_grad(set_to_none=True)
        with self._autocast():
            err_real = self.criterion(self.D(real).float(), ones)
        self._backward(err_real)
        if self.algorithm == "seq2":
            with torch.no_grad(), self._autocast():
                fake = self.G(self._noise(b))
            fake_for_d = fake
        else:
            with self._autocast():
                fake = self.G(self._noise(b))
            fake_for_d = fake.detach()
        with self._autocast():
            err_fake = self.criterion(self.D(fake_for_d).float(), zeros)
        self._backward(err_fake)
        self._opt_step(self.optD)
        # (2) G update
        self.netG.zero_grad(set_to_none=True)
        if freeze_d:
            for p in self.netD.parameters():
                p.requires_grad_(False)
        if self.algorithm == "seq2":
            with self._autocast():
                fake = self.G(self._noise(b))
        with self._autocast():
            err_g = self.criterion(self.D(fake).float(), ones)
        self._backward(err_g)
        self._opt_step(self.optG)
        if freeze_d:
            for p in self.netD.parameters():
                p.requires_grad_(True)
        if self.scaler:
            self.scaler.update()
        return err_real + err_fake, err_g

    def run(self, batches):
        for real in batches:
            d_loss, _ = self.step(real)
        value = float(d_loss.detach())  # waits for the device
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return value


class TorchWGANReference(TorchReference):
    """keras.io's WGAN-GP step (bench/refs_tf.py, "wgan") as a hand-written torch loop.

    `d_steps` critic updates, each on a fresh G(z) computed under no_grad (the
    critic's update needs no graph of G), mean(D(fake)) - mean(D(real)) plus
    10 times the gradient penalty (torch.autograd.grad with create_graph at the
    interpolates, then one backward through both); then G, D frozen, on
    -mean(D(G(z))) with fresh noise. Adam(1e-4, betas=(0, 0.9), eps=1e-7).
    """

    def __init__(self, preset, d_steps=5, seed=0):
        super().__init__(preset, "seq1_nograd", seed=seed)
        self.d_steps = d_steps
        self.algorithm = "wgan"
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-7)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-7)

    def step(self, real):
        b = real.shape[0]
        for _ in range(self.d_steps):
            self.netD.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake = self.G(self._noise(b))
            d_cost = self.D(fake).mean() - self.D(real).mean()
            alpha = torch.rand(b, 1, 1, 1, device=self.device)
            interpolated = (real + alpha * (fake - real)).requires_grad_(True)
            (grads,) = torch.autograd.grad(self.D(interpolated).sum(), interpolated, create_graph=True)
            norm = grads.square().sum(dim=(1, 2, 3)).sqrt()
            d_loss = d_cost + 10.0 * ((norm - 1.0) ** 2).mean()
            d_loss.backward()
            self.optD.step()
        self.netG.zero_grad(set_to_none=True)
        for p in self.netD.parameters():
            p.requires_grad_(False)
        g_loss = -self.D(self.G(self._noise(b))).mean()
        g_loss.backward()
        self.optG.step()
        for p in self.netD.parameters():
            p.requires_grad_(True)
        return d_loss, g_loss
