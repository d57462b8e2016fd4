CREATE TABLE departments (
    department_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    floor INTEGER,
    phone TEXT
);
CREATE TABLE doctors (
    doctor_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    specialty TEXT,
    department_id INTEGER REFERENCES departments(department_id),
    hire_date DATE,
    years_experience INTEGER
);
CREATE TABLE patients (
    patient_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    birth_date DATE,
    sex TEXT,
    city TEXT,
    blood_type TEXT
);
CREATE TABLE appointments (
    appointment_id INTEGER PRIMARY KEY,
    patient_id INTEGER REFERENCES patients(patient_id),
    doctor_id INTEGER REFERENCES doctors(doctor_id),
    appointment_date DATE,
    reason TEXT,
    status TEXT,
    fee REAL
);
CREATE TABLE medications (
    medication_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    drug_class TEXT,
    unit_price REAL
);
CREATE TABLE prescriptions (
    prescription_id INTEGER PRIMARY KEY,
    appointment_id INTEGER REFERENCES appointments(appointment_id),
    medication_id INTEGER REFERENCES medications(medication_id),
    dosage TEXT,
    days INTEGER
);
CREATE TABLE lab_results (
    result_id INTEGER PRIMARY KEY,
    patient_id INTEGER REFERENCES patients(patient_id),
    test_name TEXT,
    value REAL,
    unit TEXT,
    test_date DATE,
    is_abnormal INTEGER
);
