CREATE TABLE teachers (
    teacher_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    subject TEXT,
    hire_year INTEGER,
    salary INTEGER
);
CREATE TABLE classes (
    class_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    grade INTEGER,
    homeroom_teacher_id INTEGER REFERENCES teachers(teacher_id)
);
CREATE TABLE students (
    student_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    class_id INTEGER REFERENCES classes(class_id),
    birth_date DATE,
    sex TEXT
);
CREATE TABLE courses (
    course_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    credits INTEGER,
    teacher_id INTEGER REFERENCES teachers(teacher_id)
);
CREATE TABLE enrollments (
    enrollment_id INTEGER PRIMARY KEY,
    student_id INTEGER REFERENCES students(student_id),
    course_id INTEGER REFERENCES courses(course_id),
    term TEXT,
    score REAL
);
