//! A seeded generator of realistic patient names for the search bench:
//! Indian (with the name in Devanagari), Filipino (mother's family name as
//! middle name, "dela Cruz"-style particles), Hispanic (two family names,
//! accents) and Arabic (father's name as middle name, "Al-" and "Abdel-"
//! family names, the name in Arabic script now and then). Common names are
//! drawn more often than rare ones (a skewed pick), so a two-letter prefix
//! like "ra" or "ma" matches about as large a share of a register as it
//! does at a real front desk.

use rand::rngs::StdRng;
use rand::Rng;

/// A generated person.
pub struct Person {
    pub given: String,
    pub middle: String,
    pub family: String,
    /// The name in a local script ("" when none is recorded).
    pub local: String,
    pub sex: &'static str,
}

/// (Latin, Devanagari)
const INDIAN_MALE: [(&str, &str); 40] = [
    ("Rahul", "राहुल"),
    ("Amit", "अमित"),
    ("Ramesh", "रमेश"),
    ("Suresh", "सुरेश"),
    ("Rajesh", "राजेश"),
    ("Vijay", "विजय"),
    ("Sanjay", "संजय"),
    ("Anil", "अनिल"),
    ("Sunil", "सुनील"),
    ("Manoj", "मनोज"),
    ("Ravi", "रवि"),
    ("Arun", "अरुण"),
    ("Ashok", "अशोक"),
    ("Prakash", "प्रकाश"),
    ("Deepak", "दीपक"),
    ("Rakesh", "राकेश"),
    ("Mahesh", "महेश"),
    ("Ajay", "अजय"),
    ("Vikas", "विकास"),
    ("Rohit", "रोहित"),
    ("Arjun", "अर्जुन"),
    ("Aditya", "आदित्य"),
    ("Karan", "करण"),
    ("Nitin", "नितिन"),
    ("Gaurav", "गौरव"),
    ("Harish", "हरीश"),
    ("Dinesh", "दिनेश"),
    ("Mukesh", "मुकेश"),
    ("Naveen", "नवीन"),
    ("Pradeep", "प्रदीप"),
    ("Rameshwar", "रामेश्वर"),
    ("Sachin", "सचिन"),
    ("Vivek", "विवेक"),
    ("Yogesh", "योगेश"),
    ("Gurpreet", "गुरप्रीत"),
    ("Anand", "आनंद"),
    ("Venkatesh", "वेंकटेश"),
    ("Srinivas", "श्रीनिवास"),
    ("Mohan", "मोहन"),
    ("Kishore", "किशोर"),
];
const INDIAN_FEMALE: [(&str, &str); 36] = [
    ("Priya", "प्रिया"),
    ("Sunita", "सुनीता"),
    ("Anita", "अनीता"),
    ("Pooja", "पूजा"),
    ("Neha", "नेहा"),
    ("Kavita", "कविता"),
    ("Rekha", "रेखा"),
    ("Meena", "मीना"),
    ("Asha", "आशा"),
    ("Lakshmi", "लक्ष्मी"),
    ("Radha", "राधा"),
    ("Sita", "सीता"),
    ("Anjali", "अंजलि"),
    ("Deepa", "दीपा"),
    ("Geeta", "गीता"),
    ("Jyoti", "ज्योति"),
    ("Kiran", "किरण"),
    ("Madhuri", "माधुरी"),
    ("Nisha", "निशा"),
    ("Pallavi", "पल्लवी"),
    ("Rani", "रानी"),
    ("Renu", "रेणु"),
    ("Sarita", "सरिता"),
    ("Shweta", "श्वेता"),
    ("Swati", "स्वाति"),
    ("Usha", "उषा"),
    ("Vandana", "वंदना"),
    ("Aarti", "आरती"),
    ("Divya", "दिव्या"),
    ("Rashmi", "रश्मि"),
    ("Savita", "सविता"),
    ("Shanti", "शांति"),
    ("Manpreet", "मनप्रीत"),
    ("Padma", "पद्मा"),
    ("Revathi", "रेवती"),
    ("Rupa", "रूपा"),
];
const INDIAN_FAMILY: [(&str, &str); 40] = [
    ("Sharma", "शर्मा"),
    ("Kumar", "कुमार"),
    ("Singh", "सिंह"),
    ("Verma", "वर्मा"),
    ("Gupta", "गुप्ता"),
    ("Yadav", "यादव"),
    ("Patel", "पटेल"),
    ("Devi", "देवी"),
    ("Shaikh", "शेख"),
    ("Khan", "ख़ान"),
    ("Jain", "जैन"),
    ("Mishra", "मिश्रा"),
    ("Pandey", "पांडे"),
    ("Tiwari", "तिवारी"),
    ("Reddy", "रेड्डी"),
    ("Rao", "राव"),
    ("Nair", "नायर"),
    ("Iyer", "अय्यर"),
    ("Joshi", "जोशी"),
    ("Kulkarni", "कुलकर्णी"),
    ("Deshpande", "देशपांडे"),
    ("Patil", "पाटिल"),
    ("Chauhan", "चौहान"),
    ("Thakur", "ठाकुर"),
    ("Das", "दास"),
    ("Ghosh", "घोष"),
    ("Banerjee", "बनर्जी"),
    ("Mukherjee", "मुखर्जी"),
    ("Chatterjee", "चटर्जी"),
    ("Kaur", "कौर"),
    ("Gill", "गिल"),
    ("Malhotra", "मल्होत्रा"),
    ("Kapoor", "कपूर"),
    ("Mehta", "मेहता"),
    ("Shah", "शाह"),
    ("Desai", "देसाई"),
    ("Krishnan", "कृष्णन"),
    ("Venkataraman", "वेंकटरमन"),
    ("Pillai", "पिल्लै"),
    ("Menon", "मेनन"),
];
const FILIPINO_MALE: [&str; 20] = [
    "Jose",
    "Juan",
    "Mark",
    "John Paul",
    "Angelo",
    "Carlo",
    "Paolo",
    "Rommel",
    "Rodel",
    "Jericho",
    "Christian",
    "Joshua",
    "Miguel",
    "Ramon",
    "Renato",
    "Eduardo",
    "Rogelio",
    "Arnel",
    "Jun",
    "Efren",
];
const FILIPINO_FEMALE: [&str; 20] = [
    "Maria",
    "Ma. Cristina",
    "Rosario",
    "Luzviminda",
    "Marites",
    "Jocelyn",
    "Maricel",
    "Rowena",
    "Angelica",
    "Kristine",
    "Mary Grace",
    "Lourdes",
    "Teresita",
    "Josephine",
    "Analyn",
    "Rhea",
    "Cherry",
    "Lovely",
    "Princess",
    "Divina",
];
const FILIPINO_FAMILY: [&str; 30] = [
    "dela Cruz",
    "Santos",
    "Reyes",
    "Garcia",
    "Mendoza",
    "Bautista",
    "Ocampo",
    "Aquino",
    "Ramos",
    "Castillo",
    "Villanueva",
    "De Guzman",
    "Del Rosario",
    "Gonzales",
    "Lopez",
    "Tolentino",
    "Manalo",
    "Dimaculangan",
    "Macaraeg",
    "Pangilinan",
    "Soriano",
    "Navarro",
    "Fernandez",
    "Salazar",
    "Valdez",
    "Domingo",
    "Dizon",
    "Mercado",
    "Agustin",
    "Reyes-Bautista",
];
const HISPANIC_MALE: [&str; 20] = [
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jorge",
    "Miguel",
    "Alejandro",
    "Francisco",
    "Javier",
    "Andrés",
    "Ángel",
    "Sergio",
    "Raúl",
    "Rubén",
    "Fernando",
    "Manuel",
    "Diego",
    "Pablo",
    "Ramón",
    "Héctor",
];
const HISPANIC_FEMALE: [&str; 20] = [
    "María",
    "Ana",
    "Lucía",
    "Carmen",
    "Isabel",
    "Sofía",
    "Laura",
    "Marta",
    "Elena",
    "Paula",
    "Rosa",
    "Teresa",
    "Pilar",
    "Beatriz",
    "Inés",
    "Raquel",
    "Julia",
    "Mónica",
    "Verónica",
    "Guadalupe",
];
const HISPANIC_FAMILY: [&str; 30] = [
    "García",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Cruz",
    "Morales",
    "Ortiz",
    "Gutiérrez",
    "Chávez",
    "Ramos",
    "Ruiz",
    "Jiménez",
    "Moreno",
    "Álvarez",
    "Muñoz",
    "Romero",
    "Núñez",
    "Peña",
    "Ibáñez",
    "Castro",
];
/// (Latin, Arabic)
const ARABIC_MALE: [(&str, &str); 20] = [
    ("Mohammed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Ali", "علي"),
    ("Omar", "عمر"),
    ("Abdullah", "عبدالله"),
    ("Khalid", "خالد"),
    ("Hassan", "حسن"),
    ("Hussein", "حسين"),
    ("Youssef", "يوسف"),
    ("Ibrahim", "إبراهيم"),
    ("Mustafa", "مصطفى"),
    ("Tariq", "طارق"),
    ("Saeed", "سعيد"),
    ("Faisal", "فيصل"),
    ("Hamza", "حمزة"),
    ("Karim", "كريم"),
    ("Nasser", "ناصر"),
    ("Rashid", "راشد"),
    ("Salem", "سالم"),
    ("Zaid", "زيد"),
];
const ARABIC_FEMALE: [(&str, &str); 16] = [
    ("Fatima", "فاطمة"),
    ("Aisha", "عائشة"),
    ("Maryam", "مريم"),
    ("Noor", "نور"),
    ("Layla", "ليلى"),
    ("Zainab", "زينب"),
    ("Huda", "هدى"),
    ("Sara", "سارة"),
    ("Rania", "رانيا"),
    ("Amal", "أمل"),
    ("Hana", "هناء"),
    ("Yasmin", "ياسمين"),
    ("Salma", "سلمى"),
    ("Reem", "ريم"),
    ("Dina", "دينا"),
    ("Mona", "منى"),
];
const ARABIC_FAMILY: [(&str, &str); 20] = [
    ("Al-Qahtani", "القحطاني"),
    ("Al-Otaibi", "العتيبي"),
    ("Al-Harbi", "الحربي"),
    ("Al-Ghamdi", "الغامدي"),
    ("Al-Zahrani", "الزهراني"),
    ("Al-Shehri", "الشهري"),
    ("Haddad", "حداد"),
    ("Khoury", "خوري"),
    ("Abdel-Aziz", "عبدالعزيز"),
    ("Abdel-Rahman", "عبدالرحمن"),
    ("Mansour", "منصور"),
    ("Nasser", "ناصر"),
    ("Saleh", "صالح"),
    ("Hamdan", "حمدان"),
    ("Al-Farsi", "الفارسي"),
    ("Al-Balushi", "البلوشي"),
    ("Darwish", "درويش"),
    ("Khalil", "خليل"),
    ("Yousef", "يوسف"),
    ("Rahman", "رحمن"),
];

/// An index into a list of `len`, common (low) indexes more likely.
fn skewed(len: usize, rng: &mut StdRng) -> usize {
    let u: f64 = rng.gen();
    ((len as f64) * u.powf(1.8)) as usize % len
}

fn one<T: Copy>(list: &[T], rng: &mut StdRng) -> T {
    list[skewed(list.len(), rng)]
}

/// A person from one of the four naming traditions (Indian most often).
pub fn person(rng: &mut StdRng) -> Person {
    let female = rng.gen_bool(0.5);
    let sex = if female { "female" } else { "male" };
    match rng.gen_range(0..100) {
        0..=54 => {
            let (g, gl) = one(
                if female {
                    &INDIAN_FEMALE[..]
                } else {
                    &INDIAN_MALE[..]
                },
                rng,
            );
            let (f, fl) = one(&INDIAN_FAMILY, rng);
            let middle = if rng.gen_bool(0.3) {
                one(&INDIAN_MALE, rng).0
            } else {
                ""
            };
            let local = if rng.gen_bool(0.6) {
                format!("{gl} {fl}")
            } else {
                String::new()
            };
            Person {
                given: g.into(),
                middle: middle.into(),
                family: f.into(),
                local,
                sex,
            }
        }
        55..=69 => Person {
            given: one(
                if female {
                    &FILIPINO_FEMALE[..]
                } else {
                    &FILIPINO_MALE[..]
                },
                rng,
            )
            .into(),
            middle: one(&FILIPINO_FAMILY, rng).into(),
            family: one(&FILIPINO_FAMILY, rng).into(),
            local: String::new(),
            sex,
        },
        70..=84 => {
            let first = one(&HISPANIC_FAMILY, rng);
            let family = if rng.gen_bool(0.6) {
                format!("{first} {}", one(&HISPANIC_FAMILY, rng))
            } else {
                first.to_owned()
            };
            Person {
                given: one(
                    if female {
                        &HISPANIC_FEMALE[..]
                    } else {
                        &HISPANIC_MALE[..]
                    },
                    rng,
                )
                .into(),
                middle: String::new(),
                family,
                local: String::new(),
                sex,
            }
        }
        _ => {
            let (g, gl) = one(
                if female {
                    &ARABIC_FEMALE[..]
                } else {
                    &ARABIC_MALE[..]
                },
                rng,
            );
            let (f, fl) = one(&ARABIC_FAMILY, rng);
            let local = if rng.gen_bool(0.4) {
                format!("{gl} {fl}")
            } else {
                String::new()
            };
            Person {
                given: g.into(),
                middle: one(&ARABIC_MALE, rng).0.into(),
                family: f.into(),
                local,
                sex,
            }
        }
    }
}
