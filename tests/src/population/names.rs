//! Name parts for the synthetic population: Javanese single names, Muslim given names and
//! second names, Christian names and family names, and how registries write Muhammad.
//! Kept as tables, one line per several names (hence `rustfmt::skip` where the module is
//! declared).

pub(super) const MALE_GIVEN: &[&str] = &[
    "Rizki", "Fauzi", "Hidayat", "Ilham", "Fajar", "Arif", "Agus", "Budi", "Eko", "Dedi", "Hendra", "Joko", "Yusuf",
    "Ridwan", "Hasan", "Husain", "Abdullah", "Rahmat", "Taufik", "Syaiful", "Irfan", "Andi", "Bayu", "Dimas",
    "Fikri", "Galih", "Hafiz", "Iqbal", "Khoirul", "Lukman", "Nanda", "Rafi", "Reza", "Rudi", "Wahyu", "Yoga",
    "Zainal", "Anwar", "Aziz", "Bambang", "Darmawan", "Firman", "Gunawan", "Hadi", "Imam", "Jamal", "Kurniawan",
    "Mulyadi", "Nurdin", "Priyo", "Rohman", "Sholeh", "Teguh", "Umar", "Wawan", "Yanto", "Zaki", "Ahmad", "Ali",
    "Amir", "Arifin", "Bagus", "Cahyo", "Dani", "Edi", "Fahmi", "Hamdan", "Heru", "Indra", "Iwan", "Junaidi",
    "Kholil", "Maman", "Misbah", "Nasrul", "Rofiq", "Saiful", "Subhan", "Syamsul", "Tono", "Udin", "Wahid", "Yudi",
    "Ramadhan", "Abdul Rahman", "Abdul Aziz", "Abdul Ghofur", "Nur Hadi", "Nur Cahyo",
];

pub(super) const MALE_SECOND: &[&str] = &[
    "Pratama", "Saputra", "Setiawan", "Hidayat", "Nugroho", "Santoso", "Wibowo", "Prasetyo", "Kurniawan",
    "Ramadhan", "Firmansyah", "Hakim", "Maulana", "Syahputra", "Wijaya", "Susanto", "Hartono", "Purnomo",
    "Sulistyo", "Permana", "Gunawan", "Fadillah", "Akbar", "Rizal", "Fauzan", "Anggara", "Hermawan", "Suryadi",
    "Rahman", "Alfarizi", "Habibi", "Mubarok", "Ardiansyah", "Kusuma", "Hidayatullah", "Arifin", "Rosyid", "Ma'ruf",
    "Zulkarnain", "Iskandar",
];

pub(super) const FEMALE_GIVEN: &[&str] = &[
    "Aminah", "Fatimah", "Aisyah", "Khadijah", "Rahmawati", "Wahyuni", "Lestari", "Handayani", "Yuliani", "Rina",
    "Rini", "Wati", "Yanti", "Ani", "Eni", "Fitri", "Indah", "Ratna", "Sari", "Maya", "Novi", "Putri", "Anisa",
    "Nabila", "Zahra", "Aulia", "Safitri", "Mulyani", "Susanti", "Kartini", "Suryani", "Hartini", "Puji", "Endang",
    "Umi", "Zulaikha", "Maryam", "Halimah", "Nurul", "Laila", "Mutmainah", "Rohmah", "Sholihah", "Musrifah", "Ulfa",
    "Vina", "Yuni", "Dian", "Erna", "Farida", "Hikmah", "Imas", "Juwariyah", "Kholifah", "Lilis", "Mila", "Nining",
    "Ningsih", "Rukayah", "Salamah", "Tatik", "Uswatun", "Winarti", "Zaenab", "Haliza", "Hidayah",
];

pub(super) const FEMALE_SECOND: &[&str] = &[
    "Lestari", "Wulandari", "Rahayu", "Handayani", "Safitri", "Puspitasari", "Anggraini", "Kurniasih", "Maharani",
    "Permatasari", "Utami", "Fitriani", "Novitasari", "Pertiwi", "Nuraini", "Rahmawati", "Susanti", "Amalia",
    "Fauziah", "Hidayah", "Khasanah", "Mardiyah", "Nurjanah", "Oktaviani", "Purwanti", "Setyaningsih", "Yulianti",
    "Zahro", "Azizah", "Khoiriyah",
];

pub(super) const MALE_SINGLE: &[&str] = &[
    "Sutarno", "Suparno", "Sukirman", "Sumarno", "Paijo", "Darto", "Tukijo", "Karyono", "Suwarno", "Sugiyono",
    "Sarwono", "Slamet", "Warsito", "Poniman", "Rasimin", "Kasmadi", "Wagiman", "Tarmuji", "Suyatno", "Mardi",
    "Parjo", "Sunarto", "Sukardi", "Sudarso", "Harjono", "Kusno", "Rohmat", "Tasripin", "Caswadi", "Carman",
    "Darsono", "Jumadi", "Kasmuri", "Mukhlis", "Narto", "Sarip", "Tarjo", "Waluyo", "Yatno", "Suroso", "Juhari",
    "Sanusi", "Tarmidi", "Kardi", "Sumadi", "Sulaiman", "Sodikin", "Masrukhan", "Casmadi", "Sukarjo",
];

pub(super) const FEMALE_SINGLE: &[&str] = &[
    "Suparmi", "Tukinem", "Sumiyati", "Ngatini", "Painem", "Sarinah", "Kasinah", "Tuminah", "Sukarni", "Wagiyem",
    "Rukmini", "Sartini", "Sulastri", "Suminah", "Karsiti", "Darsih", "Tarsih", "Warsini", "Rasmi", "Casmi",
    "Dasirah", "Kusniah", "Juminah", "Sutini", "Parmi", "Rumiyati", "Satinah", "Tarmi", "Wasini", "Kastini",
    "Marfuah", "Sumarni", "Ngadinah", "Sukinah", "Tasmi", "Warni", "Yatmi", "Jariyah", "Munawaroh", "Rochimah",
];

pub(super) const CHRISTIAN_MALE: &[&str] = &[
    "Yohanes", "Petrus", "Yosef", "Agustinus", "Stefanus", "Paulus", "Antonius", "Fransiskus", "Markus", "Daniel",
];

pub(super) const CHRISTIAN_FEMALE: &[&str] = &[
    "Maria", "Theresia", "Fransiska", "Magdalena", "Yohana", "Veronika", "Agnes", "Lusia", "Elisabeth", "Debora",
];

pub(super) const FAMILY_NAMES: &[&str] = &[
    "Wijaya", "Santoso", "Gunawan", "Halim", "Setiawan", "Tanoto", "Kusuma", "Hartanto", "Susilo", "Prasetya",
];

/// As registries write Muhammad, and how often.
pub(super) const MUHAMMAD_WRITTEN: &[(&str, u32)] = &[
    ("Muhammad", 45), ("Muhamad", 15), ("Mohammad", 8), ("Mochammad", 6), ("Moh.", 10), ("Moch.", 4), ("M.", 10),
    ("Muh.", 2),
];

pub(super) const DEGREES: &[&str] = &[
    "S.Pd.", "S.E.", "S.H.", "S.Kom.", "A.Md.", "S.T.", "S.Sos.", "S.Pd.I", "M.Pd.", "S.Ag.",
];

pub(super) const PREFIX_DEGREES: &[&str] = &["Dr.", "Drs.", "Ir."];

/// Letters desks confuse: neighbouring keys and sounds.
pub(super) const CONFUSED: &[(char, char)] = &[
    ('a', 'e'), ('e', 'i'), ('i', 'e'), ('o', 'u'), ('u', 'o'), ('y', 'i'), ('w', 'u'),
    ('m', 'n'), ('n', 'm'), ('b', 'p'), ('p', 'b'), ('d', 't'), ('t', 'd'), ('k', 'g'),
    ('g', 'k'), ('s', 'z'), ('z', 's'), ('r', 'l'), ('l', 'r'), ('h', 'k'),
];

/// Spellings of one name that registries alternate between: a final y or i, a final h, kh
/// or h, sy or s, doubled letters.
pub(super) const SPELLING_SWAPS: &[(&str, &str)] = &[
    ("y", "i"), ("i", "y"), ("ah", "a"), ("dh", "d"), ("kh", "h"), ("sy", "s"),
    ("q", "k"), ("ll", "l"), ("mm", "m"), ("ff", "f"), ("ch", "h"), ("h", "ch"),
];
