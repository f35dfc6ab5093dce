"""A course roster: who is enrolled and what they scored."""

from gradebook.grades import average, letter


class Roster:
    def __init__(self, course, students=()):
        self.course = course
        self.students = list(students)
        self.scores = {}

    def enroll(self, name):
        if name in self.students:
            raise ValueError(f"{name} is already enrolled in {self.course}")
        self.students.append(name)

    def record(self, name, score):
        if name not in self.students:
            raise KeyError(f"{name} is not enrolled in {self.course}")
        if not 0 <= score <= 100:
            raise ValueError(f"score must be within 0..100, got {score}")
        self.scores.setdefault(name, []).append(score)

    def average_of(self, name):
        return average(self.scores.get(name, []))

    def report(self):
        lines = [self.course]
        for name in sorted(self.students):
            avg = self.average_of(name)
            if avg is None:
                lines.append(f"  {name}: no scores")
            else:
                lines.append(f"  {name}: {avg:.1f} ({letter(avg)})")
        return "\n".join(lines)
