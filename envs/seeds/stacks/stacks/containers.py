"""Containers with explicit empty errors."""


class Empty(IndexError):
    """Taking from an empty container."""


class Stack:
    def __init__(self, items=None):
        self._items = list(items) if items else []

    def push(self, item):
        self._items.append(item)

    def pop(self):
        if not self._items:
            raise Empty("pop from an empty stack")
        return self._items.pop()

    def peek(self):
        if not self._items:
            raise Empty("peek at an empty stack")
        return self._items[-1]

    def __len__(self):
        return len(self._items)

    def __bool__(self):
        return len(self._items) > 0


class Queue:
    """FIFO queue on a fixed-size ring buffer that grows when full."""

    def __init__(self, capacity=4):
        self._buf = [None] * capacity
        self._head = 0
        self._size = 0

    def enqueue(self, item):
        if self._size == len(self._buf):
            self._grow()
        tail = (self._head + self._size) % len(self._buf)
        self._buf[tail] = item
        self._size += 1

    def dequeue(self):
        if self._size == 0:
            raise Empty("dequeue from an empty queue")
        item = self._buf[self._head]
        self._buf[self._head] = None
        self._head = (self._head + 1) % len(self._buf)
        self._size -= 1
        return item

    def _grow(self):
        old = [self._buf[(self._head + i) % len(self._buf)] for i in range(self._size)]
        self._buf = old + [None] * len(old)
        self._head = 0

    def __len__(self):
        return self._size


class PriorityQueue:
    """Smallest priority first; equal priorities come out in insertion order."""

    def __init__(self):
        self._heap = []
        self._count = 0

    def push(self, item, priority):
        self._heap.append((priority, self._count, item))
        self._count += 1
        self._sift_up(len(self._heap) - 1)

    def pop(self):
        if not self._heap:
            raise Empty("pop from an empty priority queue")
        last = self._heap.pop()
        if not self._heap:
            return last[2]
        top = self._heap[0]
        self._heap[0] = last
        self._sift_down(0)
        return top[2]

    def _sift_up(self, i):
        while i > 0:
            parent = (i - 1) // 2
            if self._heap[i] < self._heap[parent]:
                self._heap[i], self._heap[parent] = self._heap[parent], self._heap[i]
                i = parent
            else:
                break

    def _sift_down(self, i):
        n = len(self._heap)
        while True:
            smallest = i
            for child in (2 * i + 1, 2 * i + 2):
                if child < n and self._heap[child] < self._heap[smallest]:
                    smallest = child
            if smallest == i:
                return
            self._heap[i], self._heap[smallest] = self._heap[smallest], self._heap[i]
            i = smallest

    def __len__(self):
        return len(self._heap)
