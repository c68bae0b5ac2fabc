// The previous release, for the in-place upgrade test: its migrations (names and the checksums
// it recorded when it applied them) and the names in the data it left (test/fixtures/previous-release/).
export const PREVIOUS_RELEASE = ['0001_core.sql', '0002_identity.sql', '0003_sis.sql', '0004_sis_batches.sql'] as const;

export const UPGRADE = {
  networkZone: '01UPG_NZ',
  institution: '01UPG_MEMBER',
  patron: 'upg_ada',
  barcode: 'UPG-0001',
  password: 'Analytical-Engine-1843',
  staff: 'upg_grace',
  profile: 'CAMPUS',
  /** A user the completed SIS load created. */
  sisUser: 'stu0000001',
} as const;

/** sha256 of each migration as the previous release applied it: an applied migration never changes. */
export const PREVIOUS_CHECKSUMS: Record<(typeof PREVIOUS_RELEASE)[number], string> = {
  '0001_core.sql': 'd32763fdf506f3867c487da08f334deffc654c08b4e33388c462454fea24e2c8',
  '0002_identity.sql': 'b1cb361dd45e129821439f8a769e7025b29a9221fe000f341a912f05ffed60ad',
  '0003_sis.sql': '983eb63101f1d2883f35d3afc6087a0e5516d7fd871582d97cfd2d37bade1ee8',
  '0004_sis_batches.sql': 'b6080cee85136e742d821a9bbf4ff57471743d853bd8b89b257b00e19160cda4',
};
