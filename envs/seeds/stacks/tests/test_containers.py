import pytest

from stacks.containers import Empty, PriorityQueue, Queue, Stack


def test_stack_lifo():
    s = Stack([1, 2])
    s.push(3)
    assert [s.pop(), s.pop(), s.peek()] == [3, 2, 1]
    assert len(s) == 1 and s


def test_stack_empty_errors():
    s = Stack()
    assert not s
    with pytest.raises(Empty):
        s.pop()
    with pytest.raises(Empty):
        s.peek()


def test_stacks_do_not_share_items():
    a, b = Stack(), Stack()
    a.push(1)
    assert len(b) == 0


def test_queue_fifo_and_wraparound():
    q = Queue(capacity=3)
    for i in range(3):
        q.enqueue(i)
    assert q.dequeue() == 0
    q.enqueue(3)
    assert [q.dequeue() for _ in range(3)] == [1, 2, 3]
    assert len(q) == 0


def test_queue_grows():
    q = Queue(capacity=2)
    q.enqueue("a")
    q.dequeue()
    for ch in "bcdef":
        q.enqueue(ch)
    assert len(q) == 5
    assert "".join(q.dequeue() for _ in range(5)) == "bcdef"


def test_queue_empty():
    with pytest.raises(Empty, match="empty queue"):
        Queue().dequeue()


def test_priority_order():
    pq = PriorityQueue()
    for item, prio in [("c", 3), ("a", 1), ("d", 4), ("b", 2), ("e", 5), ("z", 0)]:
        pq.push(item, prio)
    assert [pq.pop() for _ in range(6)] == ["z", "a", "b", "c", "d", "e"]


def test_priority_ties_keep_insertion_order():
    pq = PriorityQueue()
    for item in ["first", "second", "third"]:
        pq.push(item, 1)
    pq.push("urgent", 0)
    assert [pq.pop() for _ in range(4)] == ["urgent", "first", "second", "third"]
    with pytest.raises(Empty):
        pq.pop()
