"""GradientBucketer waits for the whole backward, then buckets the gradients in parameter order, not ready order."""

HINT = ("Fill the bucket in the order grad_ready is called and reduce it the moment it is full, while backward "
        "is still running.")


class GradientBucketer:
    def __init__(self, params, bucket_cap_bytes, world_size, all_reduce):
        self.params = list(params)
        self.bucket_cap_bytes = bucket_cap_bytes
        self.world_size = world_size
        self.all_reduce = all_reduce
        self.ready = 0
        self.sync = True

    @contextlib.contextmanager
    def no_sync(self):
        previous = self.sync
        self.sync = False
        try:
            yield
        finally:
            self.sync = previous

    def grad_ready(self, param):
        if not self.sync:
            return
        self.ready += 1
        if self.ready < len(self.params):
            return
        self.ready = 0
        bucket, size = [], 0
        for p in self.params:
            bucket.append(p)
            size += p.numel() * p.dtype.itemsize
            if size >= self.bucket_cap_bytes or p is self.params[-1]:
                self._reduce(bucket)
                bucket, size = [], 0

    def _reduce(self, bucket):
        flat = mt.cat([p.grad.reshape(-1) for p in bucket]).contiguous()
        self.all_reduce(flat)
        flat = flat / self.world_size
        start = 0
        for p in bucket:
            p.grad = flat[start:start + p.numel()].view(p.shape)
            start += p.numel()
