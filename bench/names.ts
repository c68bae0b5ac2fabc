// Deterministic test people: a seeded PRNG and weighted name lists. Weights are roughly the
// US 2010 census frequencies per 100,000 (a consortium's patrons, not a census), topped up with
// the *smi* family (Smith, Smithers, Goldsmith, ...) so `last_name~smi` matches a realistic few percent.

/** mulberry32: small, fast, good enough for test data, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version-4 UUID drawn from the PRNG, so the same seed gives the same ids. */
export function uuidFrom(rand: () => number): string {
  const hex: string[] = [];
  for (let i = 0; i < 16; i++) {
    let b = Math.floor(rand() * 256);
    if (i === 6) b = (b & 0x0f) | 0x40;
    if (i === 8) b = (b & 0x3f) | 0x80;
    hex.push(b.toString(16).padStart(2, '0'));
  }
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type Weighted = readonly (readonly [string, number])[];

/** Picks from a weighted list in O(log n). */
export function picker(list: Weighted): (rand: () => number) => string {
  const cumulative: number[] = [];
  let total = 0;
  for (const [, w] of list) cumulative.push((total += w));
  return (rand) => {
    const x = rand() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return list[lo]![0];
  };
}

export const LAST_NAMES: Weighted = [
  // The *smi* family.
  ['Smith', 828], ['Smithers', 6], ['Goldsmith', 8], ['Smithson', 4], ['Arrowsmith', 2], ['Smiley', 12],
  ['Nesmith', 5], ['Smitherman', 4], ['Shoesmith', 1], ['Blacksmith', 1], ['Smink', 1], ['Smits', 3],
  // Everyone else.
  ['Johnson', 655], ['Williams', 550], ['Brown', 487], ['Jones', 483], ['Garcia', 400], ['Miller', 393],
  ['Davis', 381], ['Rodriguez', 370], ['Martinez', 360], ['Hernandez', 350], ['Lopez', 300], ['Gonzalez', 290],
  ['Wilson', 282], ['Anderson', 279], ['Thomas', 268], ['Taylor', 267], ['Moore', 253], ['Jackson', 245],
  ['Martin', 240], ['Lee', 238], ['Perez', 230], ['Thompson', 225], ['White', 224], ['Harris', 210],
  ['Sanchez', 205], ['Clark', 190], ['Ramirez', 185], ['Lewis', 180], ['Robinson', 178], ['Walker', 176],
  ['Young', 165], ['Allen', 164], ['King', 163], ['Wright', 162], ['Scott', 155], ['Torres', 150],
  ['Nguyen', 148], ['Hill', 147], ['Flores', 146], ['Green', 145], ['Adams', 143], ['Nelson', 142],
  ['Baker', 141], ['Hall', 140], ['Rivera', 139], ['Campbell', 138], ['Mitchell', 137], ['Carter', 136],
  ['Roberts', 135], ['Gomez', 130], ['Phillips', 128], ['Evans', 127], ['Turner', 126], ['Diaz', 125],
  ['Parker', 124], ['Cruz', 120], ['Edwards', 119], ['Collins', 118], ['Reyes', 117], ['Stewart', 116],
  ['Morris', 115], ['Morales', 114], ['Murphy', 113], ['Cook', 112], ['Rogers', 111], ['Gutierrez', 108],
  ['Ortiz', 106], ['Morgan', 105], ['Cooper', 104], ['Peterson', 103], ['Bailey', 102], ['Reed', 101],
  ['Kelly', 100], ['Howard', 99], ['Ramos', 98], ['Kim', 97], ['Cox', 96], ['Ward', 95], ['Richardson', 94],
  ['Watson', 93], ['Brooks', 92], ['Chavez', 91], ['Wood', 90], ['James', 89], ['Bennett', 88], ['Gray', 87],
  ['Mendoza', 86], ['Ruiz', 85], ['Hughes', 84], ['Price', 83], ['Alvarez', 82], ['Castillo', 81],
  ['Sanders', 80], ['Patel', 80], ['Myers', 79], ['Long', 78], ['Ross', 77], ['Foster', 76], ['Jimenez', 75],
  ['Powell', 74], ['Jenkins', 73], ['Perry', 72], ['Russell', 71], ['Sullivan', 70], ['Bell', 69],
  ['Coleman', 68], ['Butler', 67], ['Henderson', 66], ['Barnes', 65], ['Gonzales', 64], ['Fisher', 63],
  ['Vasquez', 62], ['Simmons', 61], ['Romero', 60], ['Jordan', 59], ['Patterson', 58], ['Alexander', 57],
  ['Hamilton', 56], ['Graham', 55], ['Reynolds', 54], ['Griffin', 53], ['Wallace', 52], ['Moreno', 51],
  ['West', 50], ['Cole', 49], ['Hayes', 48], ['Bryant', 47], ['Herrera', 46], ['Gibson', 45], ['Ellis', 44],
  ['Tran', 43], ['Medina', 42], ['Aguilar', 41], ['Stevens', 40], ['Murray', 40], ['Ford', 39], ['Castro', 39],
  ['Marshall', 38], ['Owens', 38], ['Harrison', 37], ['Fernandez', 37], ["O'Brien", 30], ['McDonald', 36],
  ['Woods', 35], ['Washington', 35], ['Kennedy', 34], ['Wells', 34], ['Vargas', 33], ['Henry', 33],
  ['Chen', 33], ['Freeman', 32], ['Webb', 32], ['Tucker', 31], ['Guzman', 31], ['Burns', 30], ['Crawford', 30],
  ['Olson', 29], ['Simpson', 29], ['Porter', 28], ['Hunter', 28], ['Gordon', 28], ['Mendez', 27], ['Silva', 27],
  ['Shaw', 26], ['Snyder', 26], ['Mason', 26], ['Dixon', 25], ['Munoz', 25], ['Hunt', 25], ['Hicks', 24],
  ['Holmes', 24], ['Palmer', 24], ['Wagner', 23], ['Black', 23], ['Robertson', 23], ['Boyd', 22], ['Rose', 22],
  ['Stone', 22], ['Salazar', 21], ['Fox', 21], ['Warren', 21], ['Mills', 21], ['Meyer', 20], ['Rice', 20],
  ['Schmidt', 20], ['Garza', 20], ['Daniels', 20], ['Ferguson', 19], ['Nichols', 19], ['Stephens', 19],
  ['Soto', 19], ['Weaver', 18], ['Ryan', 18], ['Gardner', 18], ['Payne', 18], ['Grant', 18], ['Dunn', 17],
  ['Kelley', 17], ['Spencer', 17], ['Hawkins', 17], ['Arnold', 17], ['Pierce', 16], ['Vazquez', 16],
  ['Hansen', 16], ['Peters', 16], ['Santos', 16], ['Hart', 16], ['Bradley', 16], ['Knight', 15], ['Elliott', 15],
  ['Cunningham', 15], ['Duncan', 15], ['Armstrong', 15], ['Hudson', 15], ['Carroll', 15], ['Lane', 14],
  ['Riley', 14], ['Andrews', 14], ['Alvarado', 14], ['Ray', 14], ['Delgado', 14], ['Berry', 14], ['Perkins', 14],
  ['Hoffman', 14], ['Johnston', 14], ['Matthews', 14], ['Pena', 14], ['Richards', 14], ['Contreras', 14],
  ['Willis', 13], ['Carpenter', 13], ['Lawrence', 13], ['Sandoval', 13], ['Müller', 12], ['Dubois', 10],
  ['Rossi', 10], ['de Vries', 10], ['Kowalski', 10], ['Novak', 10], ['Janssen', 10], ['Larsen', 10],
  ['Nakamura', 10], ['Yamamoto', 10], ['Wang', 30], ['Li', 30], ['Zhang', 30], ['Liu', 20], ['Singh', 25],
  ['Kumar', 20], ['Ali', 20], ['Khan', 20], ['Ahmed', 15], ['Cohen', 15], ['Levy', 10], ['Schneider', 10],
];

export const FIRST_NAMES: Weighted = [
  ['James', 33], ['Mary', 26], ['John', 32], ['Patricia', 11], ['Robert', 31], ['Jennifer', 19],
  ['Michael', 35], ['Linda', 10], ['William', 24], ['Elizabeth', 16], ['David', 30], ['Barbara', 6],
  ['Richard', 14], ['Susan', 7], ['Joseph', 17], ['Jessica', 17], ['Thomas', 13], ['Sarah', 16],
  ['Charles', 11], ['Karen', 6], ['Christopher', 20], ['Lisa', 8], ['Daniel', 22], ['Nancy', 4],
  ['Matthew', 21], ['Betty', 2], ['Anthony', 14], ['Sandra', 5], ['Mark', 9], ['Margaret', 6], ['Donald', 5],
  ['Ashley', 18], ['Steven', 9], ['Kimberly', 8], ['Andrew', 18], ['Emily', 20], ['Paul', 8], ['Donna', 3],
  ['Joshua', 19], ['Michelle', 8], ['Kenneth', 6], ['Carol', 3], ['Kevin', 10], ['Amanda', 12], ['Brian', 9],
  ['Melissa', 9], ['George', 7], ['Deborah', 3], ['Timothy', 8], ['Stephanie', 10], ['Ronald', 4],
  ['Rebecca', 9], ['Jason', 9], ['Laura', 8], ['Edward', 5], ['Sharon', 3], ['Jeffrey', 6], ['Cynthia', 4],
  ['Ryan', 14], ['Kathleen', 4], ['Jacob', 20], ['Amy', 6], ['Gary', 4], ['Angela', 6], ['Nicholas', 13],
  ['Shirley', 1], ['Eric', 8], ['Anna', 10], ['Jonathan', 11], ['Brenda', 3], ['Stephen', 7], ['Pamela', 2],
  ['Larry', 2], ['Emma', 18], ['Justin', 10], ['Nicole', 10], ['Scott', 5], ['Helen', 3], ['Brandon', 12],
  ['Samantha', 12], ['Benjamin', 13], ['Katherine', 9], ['Samuel', 11], ['Christine', 4], ['Gregory', 4],
  ['Debra', 2], ['Alexander', 15], ['Rachel', 9], ['Frank', 4], ['Carolyn', 2], ['Patrick', 6], ['Janet', 2],
  ['Raymond', 3], ['Catherine', 6], ['Jack', 9], ['Maria', 12], ['Dennis', 3], ['Heather', 5], ['Jerry', 3],
  ['Olivia', 16], ['Tyler', 12], ['Sophia', 15], ['Aaron', 7], ['Isabella', 14], ['Jose', 9], ['Ava', 13],
  ['Adam', 8], ['Mia', 12], ['Nathan', 10], ['Abigail', 11], ['Henry', 7], ['Madison', 11], ['Zachary', 8],
  ['Chloe', 10], ['Ethan', 16], ['Grace', 9], ['Noah', 15], ['Hannah', 11], ['Liam', 12], ['Lily', 8],
  ['Mohammed', 6], ['Wei', 6], ['Yuki', 3], ['Priya', 5], ['Aisha', 4], ['Lukas', 4], ['Sofia', 8],
  ['Mateo', 6], ['Chen', 4], ['Fatima', 4], ['Juan', 7], ['Ana', 6], ['Luis', 6], ['Camille', 3],
];

export const MIDDLE_INITIALS = 'ABCDEFGHIJKLMNOPRSTW';

// A real patron base has tens of thousands of distinct surnames; a third of ours are built from
// syllables (14,400 combinations) so the trigram indexes see a realistic spread, not 270 names.
const PREFIX = ['Al', 'Bar', 'Cal', 'Dor', 'El', 'Fen', 'Gar', 'Hal', 'Is', 'Jor', 'Kel', 'Lan', 'Mor', 'Nor', 'Os', 'Pem',
  'Quin', 'Rad', 'Sel', 'Tor', 'Ul', 'Var', 'Wen', 'Yar', 'Zel', 'Ash', 'Brom', 'Crag', 'Dal', 'Ev', 'Fair', 'Glen',
  'Hark', 'Ing', 'Kirk', 'Lind', 'Mar', 'Ned', 'Ord', 'Pell'];
const MIDDLE = ['', 'a', 'e', 'i', 'o', 'en', 'er', 'in', 'an', 'or', 'el', 'ing'];
const SUFFIX = ['ton', 'ley', 'son', 'field', 'worth', 'by', 'ford', 'berg', 'stein', 'man', 'well', 'wood', 'er', 'ard',
  'ick', 'ow', 'ham', 'more', 'dale', 'ridge', 'brook', 'gate', 'ler', 'ner', 'sen', 'ski', 'ez', 'ini', 'elli', 'ova'];

export function syntheticSurname(rand: () => number): string {
  const pick = (a: string[]) => a[Math.floor(rand() * a.length)]!;
  for (;;) {
    const name = pick(PREFIX) + pick(MIDDLE) + pick(SUFFIX);
    // The smi share is set by the weighted list above; made-up names must not add to it.
    if (!name.toLowerCase().includes('smi')) return name;
  }
}

/** Share of users who get a made-up surname instead of one from LAST_NAMES. */
export const SYNTHETIC_SURNAME_SHARE = 0.35;
