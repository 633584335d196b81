"""The LiverSeg U-Net (Sources/NeuralNet/Models/UNet.swift) in PyTorch, timed like `liverseg bench unet`:
inference (no autograd) and a training step (forward, BCE with logits on random 0/1 targets, backward,
SGD with momentum 0.9), float32, NCHW, --threads intra-op threads."""
import unet_common as uc

args = uc.parse_args("PyTorch")
uc.set_thread_env(args.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)


class TwoConv(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.conv1 = nn.Conv2d(ci, co, 3, padding=1)
        self.conv2 = nn.Conv2d(co, co, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class UNet(nn.Module):
    def __init__(self, filters, depth, in_ch=1, classes=1, dropout=0.4):
        super().__init__()
        ch = [filters << l for l in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList([TwoConv(in_ch if l == 0 else ch[l - 1], ch[l]) for l in range(depth + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[l + 1], ch[l], 2, stride=2) for l in range(depth)])
        self.dec = nn.ModuleList([TwoConv(2 * ch[l], ch[l]) for l in range(depth)])
        self.head = nn.Conv2d(ch[0], classes, 1)
        self.drop = nn.Dropout(dropout)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        h = x
        for l in range(self.depth + 1):
            if l > 0:
                h = self.pool(h)
            h = self.down[l](h)
            skips.append(h)
        for l in range(self.depth - 1, -1, -1):
            h = self.dec[l](self.drop(torch.cat([skips[l], self.up[l](h)], 1)))
        return self.head(h)


net = UNet(args.filters, args.depth)
params = sum(p.numel() for p in net.parameters())
x = torch.rand(args.batch, 1, args.size, args.size)
y = (torch.rand(args.batch, 1, args.size, args.size) > 0.8).float()
opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
loss_fn = nn.BCEWithLogitsLoss()


def inference():
    net.eval()
    with torch.inference_mode():
        net(x)


def train_step():
    net.train()
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()


infer_s = uc.median_time(inference, args.iterations) if args.only in (None, "inference") else None
train_s = uc.median_time(train_step, args.iterations) if args.only in (None, "train") else None
uc.report(args, "pytorch", torch.__version__, params, infer_s, train_s)
