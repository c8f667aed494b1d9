"""Name lists for synthetic passengers: Spanish names written as people write them (accents, compound
first names, surnames with particles), plus a few English, French, Portuguese and East Asian names.

All names are common given names and surnames; the combinations are random and describe nobody.
"""
from __future__ import annotations

import unicodedata

FEMALE_ES: tuple[str, ...] = (
    "María", "María Fernanda", "María José", "María Guadalupe", "Guadalupe", "Ana", "Ana Sofía", "Sofía",
    "Valentina", "Regina", "Camila", "Ximena", "Daniela", "Mariana", "Fernanda", "Andrea", "Lucía", "Paula",
    "Verónica", "Mónica", "Patricia", "Leticia", "Rocío", "Itzel", "Citlali", "Araceli", "Beatriz", "Inés",
    "Elena", "Isabel", "Natalia", "Carolina", "Gabriela", "Alejandra", "Renata", "Jimena", "Martha", "Rosa",
    "Rosa María", "Ángela", "Raquel", "Noemí", "Adriana", "Silvia", "Dulce María", "Karla", "Yolanda",
)
MALE_ES: tuple[str, ...] = (
    "José", "José Luis", "José Antonio", "Juan", "Juan Carlos", "Juan Pablo", "Luis", "Luis Ángel", "Carlos",
    "Jesús", "Miguel Ángel", "Francisco", "Alejandro", "Eduardo", "Fernando", "Ricardo", "Jorge", "Raúl",
    "Héctor", "Andrés", "Sebastián", "Santiago", "Mateo", "Diego", "Emiliano", "Iván", "Óscar", "Rubén",
    "Ramón", "Martín", "Joaquín", "Tomás", "Julián", "Adrián", "Gerardo", "Arturo", "Víctor", "Rodrigo",
    "Hugo", "Efraín", "Germán", "Nicolás", "Álvaro", "Agustín", "Cuauhtémoc", "Emilio", "Manuel",
)
SURNAMES_ES: tuple[str, ...] = (
    "García", "Hernández", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
    "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Jiménez", "Reyes", "Díaz", "Torres", "Gutiérrez",
    "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero", "Álvarez", "Méndez", "Chávez",
    "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera", "Medina", "Castro", "Vargas", "Guzmán",
    "Velázquez", "Muñoz", "Rojas", "Contreras", "Salazar", "Luna", "Ortega", "Cervantes", "Núñez", "Ibarra",
    "Peña", "Báez", "Zúñiga", "Solís", "Acosta", "Ávila", "Cortés", "Ríos", "Estrada", "Navarro", "Ochoa",
    "Quintero", "Sandoval", "Montaño", "Orozco", "Tapia", "Valdés", "Zamora", "Beltrán", "Carrasco",
)
#: Surnames with particles (compound surnames), written the way they usually are.
SURNAMES_PARTICLE: tuple[str, ...] = (
    "de la Cruz", "Del Río", "de León", "de la Fuente", "De la Garza", "del Valle", "de los Santos",
    "San Martín", "Ponce de León", "de la Rosa", "Del Ángel", "de la Torre", "Montes de Oca", "de Alba",
)
FEMALE_EN: tuple[str, ...] = ("Emily", "Sarah", "Jessica", "Ashley", "Jennifer", "Olivia", "Emma", "Hannah",
                              "Megan", "Rachel", "Laura", "Grace", "Chloé", "Zoë")
MALE_EN: tuple[str, ...] = ("Michael", "David", "James", "John", "Robert", "Daniel", "Matthew", "Ryan",
                            "Kevin", "Brian", "Thomas", "William", "Noah", "Ethan")
SURNAMES_EN: tuple[str, ...] = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
                                "Anderson", "Taylor", "Moore", "Clark", "O'Connor", "McDonald", "Nguyen")
FEMALE_FR: tuple[str, ...] = ("Chloé", "Léa", "Camille", "Manon", "Inès", "Élodie", "Hélène", "Amélie")
MALE_FR: tuple[str, ...] = ("Jérôme", "Étienne", "François", "Loïc", "Benoît", "Hugo", "Théo", "Julien")
SURNAMES_FR: tuple[str, ...] = ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Leroy",
                                "Fournier", "Lambert", "Rousseau")
FEMALE_PT: tuple[str, ...] = ("Ana Clara", "Beatriz", "Júlia", "Letícia", "Luísa", "Larissa")
MALE_PT: tuple[str, ...] = ("João", "João Pedro", "Luís", "Gonçalo", "Vinícius", "Caio")
SURNAMES_PT: tuple[str, ...] = ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Conceição", "Araújo",
                                "Gonçalves", "Magalhães")
FEMALE_EA: tuple[str, ...] = ("Yuki", "Sakura", "Haruka", "Ji-woo", "Seo-yeon", "Min-ji")
MALE_EA: tuple[str, ...] = ("Takumi", "Haruto", "Kenji", "Min-jun", "Seo-jun", "Ji-ho")
SURNAMES_EA: tuple[str, ...] = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Kim", "Lee", "Park", "Choi")

#: nationality -> (weight, culture); culture picks the name lists and whether a second surname is usual
NATIONALITIES: tuple[tuple[str, int, str], ...] = (
    ("MX", 700, "es_mx"), ("US", 90, "en"), ("ES", 40, "es"), ("CO", 35, "es"), ("AR", 25, "es"),
    ("PE", 18, "es"), ("CL", 15, "es"), ("GT", 12, "es"), ("CA", 12, "en"), ("CU", 8, "es"), ("CR", 7, "es"),
    ("BR", 10, "pt"), ("FR", 8, "fr"), ("JP", 5, "ea"), ("KR", 5, "ea"), ("NL", 4, "en"), ("PA", 6, "es"),
)
PHONE_PREFIX: dict[str, tuple[str, int]] = {
    "MX": ("+52", 10), "US": ("+1", 10), "CA": ("+1", 10), "ES": ("+34", 9), "CO": ("+57", 10),
    "AR": ("+54", 10), "PE": ("+51", 9), "CL": ("+56", 9), "GT": ("+502", 8), "CU": ("+53", 8),
    "CR": ("+506", 8), "BR": ("+55", 11), "FR": ("+33", 9), "JP": ("+81", 10), "KR": ("+82", 10),
    "NL": ("+31", 9), "PA": ("+507", 8),
}
EMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx", "icloud.com",
                                  "prodigy.net.mx", "live.com.mx", "example.com", "correo.mx")


def fold(text: str) -> str:
    """Lower-case, accents removed, words joined by single spaces: how ``search_name`` is built.

    'José  Pérez' -> 'jose perez'. Uses Unicode decomposition (no extra dependency); ñ becomes n.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
