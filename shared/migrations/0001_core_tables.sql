-- Patients, the slot-reservation ledger and the reminder delivery log.
-- One statement per `;`-terminated block: the migrator runs them one by one.

CREATE TABLE IF NOT EXISTS patients (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    full_name VARCHAR(200) NOT NULL,
    phone VARCHAR(32) NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY patients_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (doctor, slot start): the primary key is what makes double
-- booking impossible, whatever the callers race. appointment_id links the row
-- to its document in `appointments`.
CREATE TABLE IF NOT EXISTS slot_reservations (
    doctor_id CHAR(24) NOT NULL,
    slot_start DATETIME NOT NULL,
    patient_id BIGINT UNSIGNED NOT NULL,
    appointment_id CHAR(24) NOT NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (doctor_id, slot_start),
    UNIQUE KEY slot_reservations_appointment (appointment_id),
    -- Nor can a patient be in two appointments at once.
    UNIQUE KEY slot_reservations_patient_slot (patient_id, slot_start),
    CONSTRAINT slot_reservations_patient_fk FOREIGN KEY (patient_id) REFERENCES patients (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS reminder_deliveries (
    appointment_id CHAR(24) NOT NULL PRIMARY KEY,
    status VARCHAR(16) NOT NULL,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    last_error VARCHAR(500) NULL,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
