"""Course grades: statistics over scores and a roster of students."""
