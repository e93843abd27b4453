// The learning store's tables on PostgreSQL (see store-postgres.ts), created
// under an advisory lock at start-up; the same tables as SQLite schema 2.
// COLLATE "C": the same order as SQLite's BINARY, whatever the database's locale
export const PG_SCHEMA = `
CREATE TABLE IF NOT EXISTS faceseg_predictions (
  project TEXT COLLATE "C" NOT NULL,
  task TEXT COLLATE "C" NOT NULL,
  model_version TEXT COLLATE "C" NOT NULL,
  dilate DOUBLE PRECISION NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  raw_score DOUBLE PRECISION NOT NULL,
  faces TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL NOT NULL,
  PRIMARY KEY (project, task, model_version)
);
CREATE INDEX IF NOT EXISTS faceseg_predictions_age ON faceseg_predictions (project, created_at, seq);
CREATE TABLE IF NOT EXISTS faceseg_corrections (
  project TEXT COLLATE "C" NOT NULL,
  annotation TEXT COLLATE "C" NOT NULL,
  task TEXT COLLATE "C" NOT NULL,
  model_version TEXT COLLATE "C" NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  faces TEXT NOT NULL,
  false_faces TEXT NOT NULL,
  missed INTEGER NOT NULL,
  changed BOOLEAN NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (project, annotation)
);
CREATE INDEX IF NOT EXISTS faceseg_corrections_age ON faceseg_corrections (project, received_at, annotation);
CREATE TABLE IF NOT EXISTS faceseg_calibrations (
  project TEXT COLLATE "C" PRIMARY KEY,
  params TEXT NOT NULL,
  model_version TEXT NOT NULL,
  score_map TEXT,
  corrections INTEGER NOT NULL,
  fitted_at BIGINT NOT NULL,
  report TEXT NOT NULL,
  engine_version TEXT NOT NULL DEFAULT '',
  refiner TEXT
);
CREATE TABLE IF NOT EXISTS faceseg_projects (
  project TEXT COLLATE "C" PRIMARY KEY,
  last_seen BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS faceseg_projects_seen ON faceseg_projects (last_seen);
CREATE TABLE IF NOT EXISTS faceseg_inbox (
  id BIGSERIAL PRIMARY KEY,
  size INTEGER NOT NULL,
  received_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  owner TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS faceseg_inbox_claimed ON faceseg_inbox (claimed_until);
`;
