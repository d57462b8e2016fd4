"""Build the shipped chat data: SFT conversations and preference pairs (medical, Chinese and English).

    python data/build_chat_data.py          # rewrites data/sft/*.jsonl, data/preference/*.jsonl, data/sft/CARD.md

Deterministic: a fixed seed and ordered iteration, so re-running reproduces the committed files byte for byte.
Everything is composed from the hand-written knowledge table below (written for this project, CC-BY-4.0;
nothing is copied from other datasets or websites). It is general health information for teaching, not
medical advice.

Each condition has, per language: several ways a user asks (q), a helpful answer (a), follow-up
questions with answers (f), red-flag symptoms (red, a noun phrase list), an overconfident false claim
(dis) and a dangerous piece of advice (harm). The last two only ever appear as *rejected* replies.
Conditions marked split="valid" are held out whole, so no prompt, answer or condition is shared
between the train and valid files.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 20240607
HERE = Path(__file__).resolve().parent
SFT_PER_COMBO = 3  # conversations per (condition, language); human-turn counts 1, 2, 3 in shuffled order
KINDS = ("unhelpful", "dishonest", "harmful", "off_topic")  # one preference pair of each per (condition, language)
MULTI_TURN_PREF = 0.3  # share of preference prompts that carry one earlier exchange
MAX_CHARS = 880  # upper bound on the characters of a whole SFT conversation

# ---------------------------------------------------------------------------------------------------------
# Knowledge table. sym: the user describes a symptom (vs. asks a question); urgent: red flags mean
# "call emergency services"; emergency: the situation itself is an emergency (no "when should I see a
# doctor?" small talk).
# ---------------------------------------------------------------------------------------------------------
CONDITIONS = [
    dict(
        id="child_fever", sym=True,
        en=dict(
            q=["My 2-year-old has a fever of 38.6°C. What should I do?",
               "How should I look after a toddler with a fever at home?",
               "My son's temperature is 39°C and he is grumpy. Should I worry?",
               "What can I give my child for a fever?"],
            a="For a child over 3 months who is alert and drinking, you can give paracetamol or ibuprofen at the dose on the label for their weight, plus plenty of fluids. How your child is behaving matters more than the exact number on the thermometer. Never give aspirin to children.",
            f=[("Can I alternate paracetamol and ibuprofen?",
                "It is usually better to use one medicine and only switch if it has not helped by the time the next dose is due. Alternating makes dosing mistakes more likely, so write down the times and doses."),
               ("Should I wake my child at night to give medicine?",
                "If your child is sleeping comfortably there is no need to wake them for a fever medicine, because sleep helps recovery. Just check on them during the night.")],
            red="a fever in a baby under 3 months, a rash that does not fade when pressed, a stiff neck, laboured breathing, unusual drowsiness, or fever lasting more than 3 days",
            dis="A fever always burns out an infection, so it can never harm a child and you never need a doctor for it.",
            harm="Give your child half an adult aspirin and wrap them in thick blankets to sweat the fever out.",
        ),
        zh=dict(
            q=["孩子两岁，发烧38.6度，该怎么办？",
               "宝宝发烧了在家怎么护理？",
               "儿子体温39度，有点闹脾气，需要担心吗？",
               "小孩发烧可以吃什么退烧药？"],
            a="如果孩子大于3个月、精神尚可、能正常喝水，可以按体重和说明书剂量使用对乙酰氨基酚或布洛芬，并多补充水分。孩子的精神状态比体温数字更重要，不要捂汗。儿童不要使用阿司匹林。",
            f=[("两种退烧药可以交替用吗？",
                "一般建议先用一种，只有到下次用药时间仍然效果不好才考虑换药。交替使用容易算错剂量，最好记录每次用药的时间和剂量。"),
               ("晚上孩子睡着了，要叫醒吃药吗？",
                "如果孩子睡得安稳，不需要专门叫醒吃退烧药，睡眠有助于恢复。夜里注意观察即可。")],
            red="3个月以下婴儿发烧、按压不褪色的皮疹、颈部僵硬、呼吸急促费力、嗜睡难以叫醒，或发烧超过3天",
            dis="发烧是在烧死病毒，体温再高也不会伤害孩子，完全不用去医院。",
            harm="给孩子吃半片成人阿司匹林，再用厚被子捂出汗，烧就退了。",
        ),
    ),
    dict(
        id="tension_headache", sym=True,
        en=dict(
            q=["I've had a dull headache across my forehead for two days. What can I do?",
               "What helps with a tension headache?",
               "My head feels like it's in a tight band every afternoon at work. Any tips?"],
            a="Tension-type headaches are common and often linked to stress, poor sleep, long screen time or skipped meals. Regular breaks, water, gentle neck stretches and an occasional dose of paracetamol or ibuprofen usually help. Try not to take painkillers on more than about 10 days a month, as that can cause rebound headaches.",
            f=[("Could it be my eyes?",
                "Eye strain can contribute, especially after long hours at a screen. An eye test is a simple, reasonable step, and looking into the distance for 20 seconds every 20 minutes may help."),
               ("Is coffee good or bad for headaches?",
                "A little caffeine can help some headaches, but a lot of it, or suddenly cutting back, can trigger them. Keeping your intake steady and moderate is the safest approach.")],
            red="a sudden, severe 'worst ever' headache, headache with fever and a stiff neck, weakness or numbness, confusion, loss of vision, or a headache after a head injury",
            dis="Headaches are always caused by dehydration, so drinking three litres of water will cure yours for good.",
            harm="Just take painkillers every day, as many as you need; there is no limit for headaches.",
        ),
        zh=dict(
            q=["这两天额头一直闷闷地疼，怎么办？",
               "紧张性头痛怎么缓解？",
               "每天下午上班头像被箍住一样疼，有什么办法？"],
            a="紧张性头痛很常见，常与压力、睡眠不足、长时间看屏幕或不按时吃饭有关。规律休息、多喝水、做颈肩放松，必要时偶尔服用对乙酰氨基酚或布洛芬通常有效。止痛药每月使用最好不超过约10天，否则可能引起药物过度使用性头痛。",
            f=[("会不会是眼睛的问题？",
                "长时间盯屏幕造成的视疲劳可能加重头痛。可以先查一下视力，并且每用眼20分钟就远眺20秒。"),
               ("喝咖啡对头痛好还是不好？",
                "少量咖啡因对部分头痛有帮助，但喝得太多或突然戒断反而会诱发头痛。保持适量、稳定的摄入最稳妥。")],
            red="突然出现的剧烈头痛、头痛伴发热和颈部僵硬、肢体无力或麻木、意识混乱、视力丧失，或头部受伤后头痛",
            dis="头痛都是缺水引起的，每天喝三升水就能彻底根治。",
            harm="头痛就每天吃止痛药，想吃多少吃多少，没有上限。",
        ),
    ),
    dict(
        id="migraine", sym=True,
        en=dict(
            q=["I get throbbing one-sided headaches with nausea. Is it migraine?",
               "How can I stop a migraine attack early?",
               "What triggers migraines and how do I avoid them?"],
            a="One-sided throbbing pain with nausea or sensitivity to light is typical of migraine, though a doctor should confirm it. Taking ibuprofen or a prescribed triptan early in an attack and resting in a dark, quiet room often helps. A headache diary can reveal triggers such as missed sleep, skipped meals or certain foods.",
            f=[("Are there medicines to prevent migraines?",
                "Yes, if you have several attacks a month, a doctor can suggest a preventive medicine taken daily. These can cut the number of attacks considerably, so it is worth asking."),
               ("Can I take the contraceptive pill if I have migraines?",
                "It depends: combined pills are usually avoided if your migraines come with aura, because of a higher stroke risk. Please discuss it with your doctor, who can suggest safer options.")],
            red="a sudden thunderclap headache, a first severe headache after age 50, weakness on one side, slurred speech, or an aura lasting more than an hour",
            dis="Migraine is purely psychological, so if you stop thinking about it the attacks will disappear for good.",
            harm="Take a double dose of your triptan at the first twinge and repeat it every hour until the pain is gone.",
        ),
        zh=dict(
            q=["我经常一侧头跳着痛，还恶心，是偏头痛吗？",
               "偏头痛发作时怎么尽早止住？",
               "偏头痛有哪些诱因，怎么预防？"],
            a="单侧搏动性头痛伴恶心或怕光，是偏头痛的典型表现，但最好由医生确诊。发作早期服用布洛芬或医生开的曲普坦类药物，并在安静、昏暗的房间休息，通常会有帮助。记录头痛日记有助于找出睡眠不足、饮食不规律等诱因。",
            f=[("有预防偏头痛的药吗？",
                "有的，如果每月发作多次，医生可以开每天服用的预防性药物。这类药往往能明显减少发作次数，值得咨询。"),
               ("偏头痛能吃避孕药吗？",
                "要看情况：有先兆的偏头痛通常不建议用复方避孕药，因为会增加中风风险。请和医生讨论更安全的避孕方式。")],
            red="雷击样突发剧烈头痛、50岁以后首次出现严重头痛、一侧肢体无力、说话含糊，或先兆持续超过一小时",
            dis="偏头痛纯粹是心理作用，只要不去想它就会永远消失。",
            harm="一感觉要头痛就把曲普坦吃双倍，每小时再吃一次，直到不痛为止。",
        ),
    ),
    dict(
        id="hypertension", sym=False,
        en=dict(
            q=["My blood pressure reading was 150/95. Is that bad?",
               "How can I lower my blood pressure without medication?",
               "I was just diagnosed with high blood pressure. What should I change?"],
            a="Blood pressure that stays at or above about 140/90 counts as high and raises the risk of stroke and heart disease, so confirm it with repeated readings at rest. Cutting salt, staying active for about 150 minutes a week, limiting alcohol and losing extra weight all help lower it. If it stays high, medication is often needed and is usually well tolerated.",
            f=[("Should I measure it at home?",
                "Yes, a validated upper-arm monitor is very useful. Sit quietly for five minutes, take two readings a minute apart, and keep a log to show your doctor."),
               ("Can I stop my pills once my pressure is normal?",
                "Please don't stop on your own; normal readings usually mean the medicine is working. Your doctor can review whether the dose can be lowered.")],
            red="a reading of 180/120 or higher with chest pain, a severe headache, shortness of breath, changes in vision, or weakness on one side",
            dis="Celery juice every morning cures high blood pressure completely within a month, guaranteed.",
            harm="Once your readings look normal, stop your blood pressure pills; you won't need them again.",
        ),
        zh=dict(
            q=["量血压150/95，严重吗？",
               "不吃药怎么降血压？",
               "刚查出高血压，生活上要注意什么？"],
            a="多次测量血压都在140/90左右或以上就属于高血压，会增加中风和心脏病风险，所以先在安静状态下多次测量确认。减少食盐、每周运动约150分钟、限酒和减重都能帮助降压。如果仍然偏高，通常需要在医生指导下用药，大多数人耐受良好。",
            f=[("需要在家自己测血压吗？",
                "需要，建议用经过认证的上臂式电子血压计。测量前静坐5分钟，隔一分钟测两次，并记录下来给医生看。"),
               ("血压正常了可以停药吗？",
                "请不要自行停药，血压正常往往说明药物在起作用。是否减量应由医生评估。")],
            red="血压达到180/120以上并伴胸痛、剧烈头痛、呼吸困难、视物模糊或一侧肢体无力",
            dis="每天早上喝芹菜汁，一个月保证根治高血压，永不复发。",
            harm="血压正常了就把降压药停掉吧，以后都不用再吃了。",
        ),
    ),
    dict(
        id="type2_diabetes", sym=False,
        en=dict(
            q=["I was diagnosed with type 2 diabetes. What should I eat?",
               "How can I bring my blood sugar down?",
               "My HbA1c is 7.8%. What does that mean and what should I do?"],
            a="Type 2 diabetes is managed by combining diet, activity and, when needed, medicines such as metformin. Build regular meals around vegetables, lean protein and whole grains, and cut sugary drinks and refined carbohydrates. Your care team will set a personal HbA1c target, often around 7%, and check it every few months.",
            f=[("Can I still eat fruit?",
                "Yes, whole fruit in sensible portions is fine and provides fibre. Spread it through the day and avoid fruit juice, which raises blood sugar quickly."),
               ("What should I do if I feel shaky and sweaty?",
                "That may be low blood sugar, especially if you take insulin or a sulfonylurea. Take about 15 g of fast sugar such as juice or glucose tablets, recheck after 15 minutes, and eat a snack once it recovers.")],
            red="very high readings with extreme thirst, vomiting or confusion, low-sugar symptoms that do not improve after taking sugar, or a foot wound that is not healing",
            dis="Bitter melon tea cures diabetes 100%, so you can stop your insulin as soon as you start drinking it.",
            harm="If your sugar is high, just double your metformin and skip meals; there's no need to tell your doctor.",
        ),
        zh=dict(
            q=["刚确诊2型糖尿病，饮食要注意什么？",
               "血糖高怎么降下来？",
               "糖化血红蛋白7.8%是什么意思，要怎么办？"],
            a="2型糖尿病需要饮食、运动和必要时的药物（如二甲双胍）共同管理。三餐规律，以蔬菜、优质蛋白和全谷物为主，少喝含糖饮料、少吃精米白面。医生会设定个人的糖化血红蛋白目标，通常在7%左右，并每隔几个月复查。",
            f=[("还能吃水果吗？",
                "可以，适量吃完整的水果没有问题，还能补充膳食纤维。最好分散在两餐之间吃，尽量不喝果汁。"),
               ("突然手抖、出冷汗怎么办？",
                "这可能是低血糖，尤其是在用胰岛素或磺脲类药物时。立即吃约15克快速升糖的食物，如果汁或葡萄糖片，15分钟后复测，恢复后再吃点东西。")],
            red="血糖极高并伴明显口渴、呕吐或意识模糊，低血糖补糖后仍不缓解，或足部伤口迟迟不愈合",
            dis="苦瓜茶能百分之百治愈糖尿病，喝上就可以停掉胰岛素。",
            harm="血糖高就把二甲双胍加倍，再少吃几顿饭，不用告诉医生。",
        ),
    ),
    dict(
        id="asthma", sym=True,
        en=dict(
            q=["My asthma has been worse lately and I'm using my blue inhaler a lot. What should I do?",
               "How do I keep my asthma under control?",
               "Do I really need my preventer inhaler every day?"],
            a="Needing your reliever inhaler more than twice a week is a sign your asthma is not well controlled. A preventer (inhaled steroid) taken every day, even when you feel well, calms the airways over time, and good inhaler technique with a spacer makes a big difference. Book a review with your doctor to update your asthma action plan.",
            f=[("Can exercise make asthma worse?",
                "Exercise can trigger symptoms, but staying active is good for you. Taking your reliever 10 to 15 minutes before exercise and warming up gradually usually helps."),
               ("Are steroid inhalers safe long term?",
                "At the usual doses inhaled steroids are considered safe, because only a small amount reaches the rest of the body. Rinsing your mouth afterwards lowers the risk of thrush and hoarseness.")],
            red="a reliever that isn't helping, breathlessness too severe to speak in full sentences, blue or grey lips, or drowsiness during an attack",
            dis="Asthma is always outgrown, and breathing exercises alone will cure it, so you can throw away your inhalers.",
            harm="Stop the preventer inhaler, it's just steroids; use the blue one as often as you like instead.",
        ),
        zh=dict(
            q=["最近哮喘加重，蓝色吸入器用得很频繁，怎么办？",
               "哮喘怎样才能控制好？",
               "控制哮喘的吸入剂一定要每天用吗？"],
            a="如果每周需要用缓解药（如沙丁胺醇）超过两次，说明哮喘控制得不好。吸入激素类的控制药即使没有症状也要每天用，才能逐步减轻气道炎症，正确的吸入方法和储雾罐也很重要。建议尽快找医生复诊，调整哮喘行动计划。",
            f=[("运动会加重哮喘吗？",
                "运动可能诱发症状，但坚持运动对身体有益。运动前10到15分钟使用缓解药并充分热身，通常可以预防。"),
               ("长期用激素吸入剂安全吗？",
                "常规剂量的吸入激素是安全的，因为进入全身的量很少。用完后漱口可以减少口腔真菌感染和声音嘶哑。")],
            red="用缓解药后仍不见好转、气喘到说不出完整句子、嘴唇发紫或发灰，或发作时嗜睡",
            dis="哮喘长大了都会自己好，坚持做呼吸操就能根治，吸入器可以扔了。",
            harm="控制药就是激素，别用了，难受时多喷几次蓝色的就行。",
        ),
    ),
    dict(
        id="cough", sym=True,
        en=dict(
            q=["I've had a cough for a week after a cold. How can I get rid of it?",
               "What helps a dry, tickly cough at night?",
               "Is it normal for a cough to hang around after a cold?"],
            a="A cough after a cold is usually viral and can last up to three weeks even as you recover. Warm drinks, honey (not for babies under one), staying hydrated and avoiding smoke all help soothe it. Cough medicines have limited evidence, and antibiotics will not help a viral cough.",
            f=[("Can I give honey to my 8-month-old for her cough?",
                "No, honey should not be given to babies under 12 months because of the risk of infant botulism. Keep her fed and hydrated, and see a doctor if she struggles to breathe or feed."),
               ("Should I use a humidifier?",
                "Moist air can make a dry cough more comfortable for some people. Keep the humidifier clean, as a dirty one can spread mould.")],
            red="a cough lasting more than three weeks, coughing up blood, shortness of breath, chest pain, a high fever, or unexplained weight loss",
            dis="Every lingering cough is bronchitis, and garlic syrup guarantees a cure in 24 hours.",
            harm="Take the leftover antibiotics in your cupboard; they clear every cough.",
        ),
        zh=dict(
            q=["感冒好了还一直咳嗽，一周了，怎么办？",
               "晚上干咳、喉咙痒，有什么办法？",
               "感冒后咳嗽老不好正常吗？"],
            a="感冒后的咳嗽多由病毒引起，恢复期可持续长达三周。多喝温水、适量吃蜂蜜（1岁以下婴儿不可）、避免烟雾刺激都有助于缓解。止咳药效果有限，抗生素对病毒性咳嗽没有作用。",
            f=[("8个月宝宝咳嗽能喂蜂蜜吗？",
                "不能，1岁以下婴儿吃蜂蜜有肉毒杆菌中毒的风险。保证喂养和水分，如果出现呼吸费力或吃奶困难要及时就医。"),
               ("用加湿器有用吗？",
                "湿润的空气可能让干咳舒服一些。注意定期清洁加湿器，否则容易滋生霉菌。")],
            red="咳嗽超过三周、咳血、呼吸困难、胸痛、高烧，或不明原因体重下降",
            dis="所有咳嗽都是支气管炎，喝大蒜糖浆保证24小时根治。",
            harm="把家里剩下的抗生素吃了吧，什么咳嗽都能消。",
        ),
    ),
    dict(
        id="influenza", sym=True,
        en=dict(
            q=["I think I have the flu: fever, aches and exhaustion. What should I do?",
               "How long does the flu last and how do I treat it at home?",
               "Should I take antiviral medicine for the flu?"],
            a="Flu usually improves within a week, although tiredness can linger. Rest, fluids, and paracetamol or ibuprofen for fever and aches are the mainstays, and staying home protects others. Antivirals such as oseltamivir work best within 48 hours and are mainly recommended for people at higher risk, like older adults, pregnant women or those with chronic illness.",
            f=[("When can I go back to work?",
                "A common rule is to wait until you have had no fever for 24 hours without fever medicine. Washing hands and covering coughs reduces spread when you return."),
               ("Should I get the flu vaccine next year?",
                "Yes, a yearly flu vaccine is recommended for most people over six months old. It is updated each season and lowers your risk of severe illness.")],
            red="difficulty breathing, chest pain, confusion, blue lips, severe dehydration, or symptoms that improve and then suddenly get worse",
            dis="Megadoses of vitamin C cure the flu overnight with 100% certainty.",
            harm="Sweat it out: skip fluids, take cold-and-flu tablets together with extra paracetamol, and go to the gym.",
        ),
        zh=dict(
            q=["发烧、浑身酸痛、没力气，是不是得了流感？该怎么办？",
               "流感一般多久能好，在家怎么处理？",
               "得了流感需要吃抗病毒药吗？"],
            a="流感通常一周左右好转，但乏力可能持续更久。休息、多喝水，发热和酸痛时用对乙酰氨基酚或布洛芬是主要处理方法，居家休息也能避免传染他人。奥司他韦等抗病毒药在发病48小时内使用效果最好，主要推荐给老人、孕妇和慢性病患者等高风险人群。",
            f=[("什么时候可以回去上班？",
                "一般建议在不用退烧药的情况下退烧满24小时后再返岗。回去后勤洗手、咳嗽时遮住口鼻可以减少传播。"),
               ("明年需要打流感疫苗吗？",
                "需要，6个月以上的人一般都建议每年接种流感疫苗。疫苗每季更新，能降低重症风险。")],
            red="呼吸困难、胸痛、意识混乱、嘴唇发紫、严重脱水，或症状好转后又突然加重",
            dis="大剂量维生素C一晚上就能百分之百治好流感。",
            harm="捂汗硬扛，少喝水，感冒药和对乙酰氨基酚一起多吃点，再去健身房出出汗。",
        ),
    ),
    dict(
        id="sore_throat", sym=True,
        en=dict(
            q=["My throat is really sore but I don't have a fever. What can I do?",
               "How do I soothe a sore throat?",
               "Do I need antibiotics for a sore throat?"],
            a="Most sore throats are caused by viruses and get better within about a week without antibiotics. Warm salt-water gargles, lozenges, cool or warm drinks and paracetamol or ibuprofen can ease the pain. A doctor may test for strep throat if you have a fever, swollen neck glands and no cough.",
            f=[("Can I still go to work?",
                "If you feel well enough and have no fever, working is usually fine. Wash your hands often and avoid sharing cups to protect colleagues."),
               ("Does honey and lemon really help?",
                "It can soothe the throat and is a reasonable home remedy for adults and children over one. It won't shorten the illness, but it may make you more comfortable.")],
            red="difficulty swallowing saliva or drooling, trouble breathing, a muffled voice, swelling on one side of the throat, or symptoms lasting more than a week",
            dis="Sore throats are always strep, and a garlic clove held in the mouth cures them with no need for tests.",
            harm="Take a friend's leftover antibiotics for three days; that will fix any sore throat.",
        ),
        zh=dict(
            q=["嗓子很疼但是没发烧，怎么办？",
               "喉咙痛怎么缓解？",
               "嗓子疼需要吃抗生素吗？"],
            a="大多数咽喉痛由病毒引起，一周左右会自行好转，不需要抗生素。温盐水漱口、含片、喝温水或凉饮，以及对乙酰氨基酚或布洛芬都能缓解疼痛。如果有发热、颈部淋巴结肿大且没有咳嗽，医生可能会检测是否为链球菌感染。",
            f=[("还能上班吗？",
                "如果没有发烧、体力允许，一般可以上班。勤洗手、不要与别人共用杯子，以免传染同事。"),
               ("蜂蜜柠檬水真的有用吗？",
                "它可以舒缓喉咙，适合成人和1岁以上的孩子。不会缩短病程，但能让人舒服一些。")],
            red="无法吞咽口水或流口水、呼吸困难、说话声音含糊、喉咙一侧明显肿胀，或症状超过一周",
            dis="嗓子疼一定是链球菌感染，含一瓣大蒜就能治好，不用检查。",
            harm="把朋友剩下的抗生素吃三天就行，什么嗓子疼都能好。",
        ),
    ),
    dict(
        id="reflux_gastritis", sym=True,
        en=dict(
            q=["I get a burning feeling in my chest after meals. What can I do?",
               "How can I calm my stomach when I have gastritis?",
               "My stomach burns at night when I lie down. Any advice?"],
            a="A burning feeling after meals or when lying down is often acid reflux or gastritis. Smaller meals, not eating late, less alcohol, coffee, spicy and fatty food, and raising the head of the bed can help, and an antacid gives short-term relief. If it keeps coming back, a doctor may suggest an acid-reducing medicine or a test for Helicobacter pylori.",
            f=[("Could painkillers be making it worse?",
                "Yes, anti-inflammatory painkillers such as ibuprofen and aspirin can irritate the stomach lining. Paracetamol is usually gentler, but ask your doctor before changing any regular medicine."),
               ("How long can I take antacids?",
                "Occasional use is fine, but if you need them for more than two weeks, see a doctor. Ongoing symptoms deserve a proper check rather than long-term self-treatment.")],
            red="black or bloody stools, vomiting blood, difficulty swallowing, unexplained weight loss, severe pain, or chest pain with sweating or breathlessness",
            dis="Reflux is always caused by too little acid, so drinking vinegar before meals cures it completely.",
            harm="Just keep taking ibuprofen for the pain and ignore black stools; that is normal with gastritis.",
        ),
        zh=dict(
            q=["吃完饭胸口有烧灼感，怎么办？",
               "胃炎犯了怎么养胃？",
               "晚上一躺下胃就烧得难受，有什么建议？"],
            a="饭后或躺下时出现烧灼感，常见于胃食管反流或胃炎。少食多餐、睡前3小时不进食、少喝酒和咖啡、少吃辛辣油腻食物、把床头垫高都有帮助，抗酸药可以短期缓解。如果反复发作，医生可能会开抑酸药或建议做幽门螺杆菌检测。",
            f=[("止痛药会让胃更难受吗？",
                "会，布洛芬、阿司匹林等非甾体抗炎药可能刺激胃黏膜。对乙酰氨基酚通常对胃更温和，但更换常用药前请先咨询医生。"),
               ("抗酸药能吃多久？",
                "偶尔服用没有问题，但如果需要连续吃超过两周，就应该去看医生。症状持续需要正规检查，而不是长期自行用药。")],
            red="黑便或便血、呕血、吞咽困难、不明原因消瘦、剧烈腹痛，或胸痛伴出汗气短",
            dis="反流都是胃酸太少引起的，饭前喝醋就能彻底根治。",
            harm="胃痛就一直吃布洛芬止痛，出现黑便也很正常，不用管。",
        ),
    ),
    dict(
        id="diarrhoea", sym=True,
        en=dict(
            q=["I've had diarrhoea since yesterday. What should I do?",
               "What should I eat when I have an upset stomach and loose stools?",
               "How do I stop diarrhoea quickly?"],
            a="Most diarrhoea is caused by a short-lived infection and settles within a few days. The priority is replacing fluids and salts, ideally with oral rehydration solution, and eating plain food once you feel able. Adults without fever or blood in the stool may use loperamide briefly, but it is not suitable for young children.",
            f=[("Is a sports drink as good as rehydration solution?",
                "Not quite: sports drinks have too much sugar and too little salt for proper rehydration. Pharmacy oral rehydration sachets are better, especially for children and older adults."),
               ("When can I go back to work?",
                "If you handle food or work in care, wait 48 hours after the last episode. Otherwise return when you feel well, and wash your hands carefully.")],
            red="blood in the stool, a high fever, signs of dehydration such as very little urine or dizziness, severe abdominal pain, or diarrhoea lasting more than a week",
            dis="Diarrhoea is just your body detoxing, so the more you have the healthier you get.",
            harm="Give a toddler an adult dose of loperamide and stop all fluids so the diarrhoea dries up.",
        ),
        zh=dict(
            q=["从昨天开始拉肚子，怎么办？",
               "肠胃不舒服、大便稀，应该吃什么？",
               "怎么才能快速止泻？"],
            a="大多数腹泻由短期感染引起，几天内会自行好转。最重要的是补充水分和电解质，最好使用口服补液盐，能吃东西后先吃清淡饮食。没有发烧和便血的成人可以短期使用洛哌丁胺，但它不适合小孩。",
            f=[("运动饮料能代替口服补液盐吗？",
                "不太能，运动饮料糖分偏高、盐分偏低，补液效果不如口服补液盐。药店的补液盐更适合，尤其是儿童和老人。"),
               ("什么时候可以回去上班？",
                "如果从事餐饮或护理工作，最后一次腹泻后应等48小时再上班。其他情况身体恢复即可返岗，注意认真洗手。")],
            red="便中带血、高烧、尿量很少或头晕等脱水表现、剧烈腹痛，或腹泻超过一周",
            dis="腹泻就是身体在排毒，拉得越多越健康。",
            harm="给幼儿吃成人剂量的止泻药，再停止喝水，腹泻自然就止住了。",
        ),
    ),
    dict(
        id="constipation", sym=True,
        en=dict(
            q=["I've been constipated for a week. What can I do?",
               "How can I make my bowel movements more regular?",
               "What is the best thing for hard stools?"],
            a="Constipation usually improves by gradually adding fibre from vegetables, fruit, oats and whole grains, drinking enough water and moving more. Don't ignore the urge to go; a regular time after breakfast helps many people. If that is not enough, an osmotic laxative such as macrogol from a pharmacy is a gentle next step.",
            f=[("Are laxatives addictive?",
                "Osmotic laxatives like macrogol are considered safe for regular use when needed. Stimulant laxatives are fine short term but are best not used daily for long periods without advice."),
               ("Can my iron tablets cause it?",
                "Yes, iron supplements commonly cause constipation and dark stools. Ask your doctor whether a different dose or form might suit you better.")],
            red="blood in the stool, unexplained weight loss, severe abdominal pain with vomiting, or a lasting change in bowel habit, especially over age 50",
            dis="Colon cleansing with coffee enemas removes years of toxins and permanently cures constipation.",
            harm="Take a whole box of stimulant laxatives at once to clear everything out.",
        ),
        zh=dict(
            q=["便秘一个星期了，怎么办？",
               "怎样才能让排便更规律？",
               "大便很干很硬，有什么好办法？"],
            a="便秘通常可以通过逐步增加蔬菜、水果、燕麦和全谷物等膳食纤维、多喝水、多活动来改善。有便意时不要憋着，很多人固定在早饭后如厕效果不错。如果仍不见效，可以用药店的聚乙二醇等渗透性泻药，比较温和。",
            f=[("泻药会上瘾吗？",
                "聚乙二醇这类渗透性泻药需要时规律使用是安全的。刺激性泻药短期可以用，但不建议在没有医生指导下长期每天使用。"),
               ("吃补铁药会引起便秘吗？",
                "会，铁剂常引起便秘和大便发黑。可以问问医生是否能调整剂量或换一种剂型。")],
            red="便中带血、不明原因消瘦、剧烈腹痛伴呕吐，或排便习惯持续改变（尤其50岁以上）",
            dis="用咖啡灌肠清肠，可以清除多年宿便毒素，永久根治便秘。",
            harm="一次把一整盒刺激性泻药都吃了，彻底清干净。",
        ),
    ),
    dict(
        id="insomnia", sym=True,
        en=dict(
            q=["I can't fall asleep at night. What can I do?",
               "I keep waking at 3am and can't get back to sleep. Any tips?",
               "Should I take sleeping pills for insomnia?"],
            a="Keeping the same wake-up time every day, avoiding caffeine after midday and putting screens away an hour before bed are good first steps. If you can't sleep after about 20 minutes, get up and do something calm in dim light until you feel sleepy. Cognitive behavioural therapy for insomnia works better long term than sleeping pills, which are best kept for short periods.",
            f=[("Is melatonin safe?",
                "Short-term melatonin is generally considered low risk for adults and can help with jet lag. It is not a cure for long-term insomnia, so discuss ongoing use with your doctor."),
               ("Does a nightcap help me sleep?",
                "Alcohol may make you drowsy, but it breaks up sleep later in the night. Cutting back usually improves sleep quality.")],
            red="loud snoring with pauses in breathing, falling asleep while driving, persistent low mood, or thoughts of harming yourself",
            dis="Insomnia is always caused by a magnesium deficiency, and one supplement guarantees perfect sleep forever.",
            harm="Mix a sleeping pill with a few glasses of wine; it knocks you out every time.",
        ),
        zh=dict(
            q=["晚上总是睡不着，怎么办？",
               "每天凌晨三点醒了就睡不着，有什么办法？",
               "失眠要不要吃安眠药？"],
            a="每天固定起床时间、中午以后不喝咖啡和浓茶、睡前一小时不看手机是很好的第一步。如果躺下20分钟还睡不着，就起床在昏暗的灯光下做点安静的事，有困意再回床。失眠的认知行为疗法长期效果优于安眠药，安眠药最好只短期使用。",
            f=[("褪黑素安全吗？",
                "成人短期使用褪黑素风险一般较低，对倒时差有帮助。但它不能根治长期失眠，长期使用前请咨询医生。"),
               ("睡前喝点酒有助于睡眠吗？",
                "酒精可能让人犯困，但会让后半夜睡眠变浅、易醒。减少饮酒通常能改善睡眠质量。")],
            red="打鼾很响并有呼吸暂停、开车时打瞌睡、持续情绪低落，或有伤害自己的念头",
            dis="失眠都是缺镁引起的，吃一种补充剂保证你永远睡得香。",
            harm="安眠药配几杯红酒一起吃，保证倒头就睡。",
        ),
    ),
    dict(
        id="low_back_pain", sym=True,
        en=dict(
            q=["I hurt my lower back lifting a box. What should I do?",
               "How can I ease lower back pain?",
               "Should I stay in bed when my back hurts?"],
            a="Most lower back pain improves within a few weeks, and staying gently active helps more than bed rest. Heat packs, short walks and an anti-inflammatory such as ibuprofen for a few days can ease the pain if it is safe for you. Once it settles, core and back-strengthening exercises lower the chance of it coming back.",
            f=[("Should I get an X-ray or MRI?",
                "Scans are usually not needed for ordinary back pain without warning signs, and they often show age-related changes that aren't the cause. Your doctor will order imaging if the symptoms suggest it."),
               ("What about sitting at a desk all day?",
                "Set up your chair and screen so your back is supported, and take a short walking break every 30 to 60 minutes. Changing position often matters more than finding one perfect posture.")],
            red="numbness around the groin or buttocks, loss of bladder or bowel control, weakness in the legs, fever, or pain after a fall or major accident",
            dis="All back pain comes from a misaligned spine, and one chiropractic session fixes it permanently.",
            harm="Ignore any leg numbness or bladder problems; that always happens with a back strain.",
        ),
        zh=dict(
            q=["搬箱子把腰闪了，怎么办？",
               "腰痛怎么缓解？",
               "腰痛需要卧床休息吗？"],
            a="大多数腰痛几周内会好转，适度活动比卧床休息恢复得更快。热敷、短时间散步，以及在没有禁忌的情况下服用几天布洛芬等消炎止痛药可以缓解疼痛。疼痛缓解后坚持做核心和腰背肌锻炼，能减少复发。",
            f=[("需要拍片或做核磁共振吗？",
                "没有危险信号的普通腰痛通常不需要影像检查，片子上常能看到与年龄相关的改变，但不一定是疼痛原因。如有需要，医生会安排检查。"),
               ("整天坐办公室怎么办？",
                "调整好座椅和屏幕，让腰背有支撑，每30到60分钟起来走动一下。经常变换姿势比找到一个完美坐姿更重要。")],
            red="会阴或臀部麻木、大小便失禁、双腿无力、发烧，或跌倒、车祸后出现的腰痛",
            dis="所有腰痛都是脊椎错位，正骨一次就能永久治好。",
            harm="腿麻、小便失禁都是闪腰的正常现象，不用理会。",
        ),
    ),
    dict(
        id="hay_fever", sym=True,
        en=dict(
            q=["Every spring I sneeze constantly and my eyes itch. What can I take?",
               "How do I manage hay fever?",
               "My nose is always runny and blocked around cats. What helps?"],
            a="This sounds like allergic rhinitis, often called hay fever. A non-drowsy antihistamine such as cetirizine or loratadine, and a steroid nasal spray used every day during the season, work well, and saline rinses can help too. Reducing exposure to the trigger, such as pollen or pet dander, also makes a difference.",
            f=[("How long does the nasal spray take to work?",
                "Steroid sprays take a few days to reach full effect, so use them daily rather than only on bad days. Aim the nozzle slightly outward, away from the middle of the nose."),
               ("Can allergy shots cure it?",
                "Allergen immunotherapy can reduce symptoms for years in selected people, but it takes about three years of treatment. An allergist can tell you whether you are a good candidate.")],
            red="wheezing or shortness of breath, swelling of the lips or face, or a blocked nose on one side with bleeding",
            dis="Local honey completely cures all pollen allergies within two weeks, guaranteed.",
            harm="Use a decongestant nose spray nonstop for months; it's totally harmless.",
        ),
        zh=dict(
            q=["每到春天就不停打喷嚏、眼睛痒，可以吃什么药？",
               "过敏性鼻炎怎么控制？",
               "一接触猫就流鼻涕、鼻塞，有什么办法？"],
            a="这很像过敏性鼻炎。西替利嗪、氯雷他定等不易犯困的抗组胺药，加上每天规律使用的激素鼻喷剂效果较好，生理盐水洗鼻也有帮助。尽量减少接触花粉、宠物皮屑等过敏原同样重要。",
            f=[("激素鼻喷剂多久起效？",
                "激素鼻喷剂需要几天才能达到最佳效果，所以要每天用，而不是难受时才用。喷的时候喷头稍微朝外，避开鼻中隔。"),
               ("脱敏治疗能根治吗？",
                "对部分患者，脱敏治疗可以让症状多年减轻，但通常需要坚持约三年。可以请过敏专科医生评估是否适合。")],
            red="喘息或呼吸困难、嘴唇或面部肿胀，或单侧鼻塞伴出血",
            dis="吃本地蜂蜜两周，保证根治所有花粉过敏。",
            harm="减充血鼻喷剂一直喷几个月都没事，完全无害。",
        ),
    ),
    dict(
        id="food_allergy", sym=True, urgent=True,
        en=dict(
            q=["I broke out in itchy hives after eating shrimp. What should I do?",
               "How do I handle a mild allergic reaction to food?",
               "My child got a red, itchy rash after trying peanuts. Is that serious?"],
            a="Hives alone after a food can often be eased with a non-drowsy antihistamine, and that food should be avoided until you have seen a doctor. A first reaction, especially in a child, is worth an allergy assessment because later reactions can be more severe. If an adrenaline auto-injector has been prescribed, keep it with you at all times.",
            f=[("Does an allergy test make sense?",
                "Yes, a skin-prick or blood test interpreted by an allergist, together with the history, can confirm the trigger. Testing without a clear history often gives false positives, so it is best arranged through a doctor."),
               ("Will this allergy go away with time?",
                "Some allergies, such as milk and egg in children, are often outgrown, while peanut and shellfish allergies more often persist. An allergist can re-test over time and advise whether a supervised food challenge is safe.")],
            red="swelling of the lips, tongue or throat, difficulty breathing, wheezing, or dizziness and fainting",
            dis="Food allergies are all in the mind; eat a little more of the food each day and you will be cured in a week.",
            harm="Keep eating the food to build tolerance, and if the throat swells just lie down and wait; no ambulance needed.",
        ),
        zh=dict(
            q=["吃了虾以后身上起了很多痒疙瘩，怎么办？",
               "轻微的食物过敏该怎么处理？",
               "孩子第一次吃花生后起了红疹，很痒，严重吗？"],
            a="食物引起的单纯荨麻疹，通常可以用不易犯困的抗组胺药缓解，在看医生之前先避免再吃这种食物。第一次过敏，尤其是孩子，最好去做过敏评估，因为下一次反应可能更严重。如果医生开了肾上腺素自动注射笔，要随身携带。",
            f=[("需要做过敏原检测吗？",
                "需要，由过敏专科医生结合病史解读皮肤点刺或血液检测，才能明确过敏原。没有明确病史就盲目检测容易出现假阳性。"),
               ("过敏以后会自己好吗？",
                "有些过敏，比如儿童牛奶和鸡蛋过敏常会随年龄消失，而花生和海鲜过敏更容易持续。过敏科医生可以定期复查，评估能否在监护下尝试进食。")],
            red="嘴唇、舌头或喉咙肿胀、呼吸困难、喘鸣，或头晕、晕厥",
            dis="食物过敏都是心理作用，每天多吃一点，一周保证脱敏。",
            harm="继续吃让身体适应，就算喉咙肿了也躺下等等就好，不用叫救护车。",
        ),
    ),
    dict(
        id="eczema", sym=True,
        en=dict(
            q=["My baby has dry, red, itchy patches on her cheeks. What can I do?",
               "How do I manage eczema flare-ups?",
               "What moisturiser is best for eczema?"],
            a="Eczema care centres on moisturising generously with a thick, fragrance-free emollient several times a day, even when the skin looks clear. Use soap substitutes, keep baths short and lukewarm, and pat the skin dry. During a flare, a mild steroid cream prescribed by your doctor and used as directed is safe and effective.",
            f=[("Are steroid creams safe for children?",
                "Used as your doctor directs, in the right strength and for short courses, topical steroids are safe for children. Under-treating a flare often causes more harm than the cream."),
               ("Should dairy be cut from the diet?",
                "Food is a trigger for only a minority of people, and cutting out foods without testing can cause nutrition problems. Talk to your doctor before removing whole food groups, especially for a child.")],
            red="weeping or crusted patches, fever, rapidly spreading painful blisters or sores, or a rash that isn't improving with treatment",
            dis="Eczema is caused by toxins, and a three-day juice cleanse clears it permanently.",
            harm="Use the strongest steroid cream you can find on a baby's face every day for months.",
        ),
        zh=dict(
            q=["宝宝脸蛋上有干燥发红、很痒的斑块，怎么办？",
               "湿疹反复发作怎么护理？",
               "湿疹用什么润肤霜比较好？"],
            a="湿疹护理的核心是每天多次、足量涂抹厚重、无香料的保湿霜，即使皮肤看起来好了也要坚持。用温和的无皂清洁产品，洗澡时间短、水温不要太高，洗后轻轻拍干。发作期在医生指导下短期使用弱效激素药膏是安全有效的。",
            f=[("孩子用激素药膏安全吗？",
                "按医生要求选择合适强度、短期使用，外用激素对孩子是安全的。发作时用药不足，反而往往危害更大。"),
               ("需要忌口牛奶吗？",
                "只有少数人的湿疹与食物有关，没有检测就盲目忌口可能导致营养问题。尤其是孩子，限制整类食物前请先咨询医生。")],
            red="皮损渗液或结痂、发烧、迅速扩散的疼痛水疱或溃疡，或治疗后皮疹仍不见好转",
            dis="湿疹是体内毒素引起的，喝三天果蔬汁排毒就能永久根治。",
            harm="找最强效的激素药膏，每天给宝宝脸上涂，连续涂几个月。",
        ),
    ),
    dict(
        id="uti", sym=True,
        en=dict(
            q=["It burns when I pee and I need to go all the time. Is it a UTI?",
               "What should I do about a bladder infection?",
               "Can a urinary tract infection go away on its own?"],
            a="Burning and frequent urination are classic signs of a urinary tract infection. Drink plenty of water and see a doctor or pharmacist, who may test your urine and prescribe a short course of antibiotics if needed. Men, pregnant women and children with these symptoms should always be checked by a doctor.",
            f=[("Does cranberry juice help?",
                "The evidence for cranberry is mixed, and it does not treat an active infection. It is fine to drink, but it is not a substitute for being assessed."),
               ("How can I stop these infections coming back?",
                "Drinking enough water, not holding urine for long and urinating after sex can help. If you have several infections a year, your doctor can discuss preventive options.")],
            red="fever, pain in your back or side, vomiting, blood in the urine, or symptoms during pregnancy",
            dis="Cranberry juice cures every urinary infection 100%, so you never need antibiotics.",
            harm="Ignore the fever and back pain and just keep drinking water; kidney infections always clear by themselves.",
        ),
        zh=dict(
            q=["小便时有烧灼感，还老想上厕所，是尿路感染吗？",
               "膀胱炎该怎么办？",
               "尿路感染能自己好吗？"],
            a="排尿灼痛、尿频是尿路感染的典型表现。多喝水，并尽快去看医生或咨询药师，可能需要做尿检并按医嘱服用短程抗生素。男性、孕妇和儿童出现这些症状都应该去医院检查。",
            f=[("喝蔓越莓汁有用吗？",
                "蔓越莓的证据并不一致，而且不能治疗已经发生的感染。可以喝，但不能代替就医。"),
               ("怎样防止反复感染？",
                "多喝水、不憋尿、同房后排尿都有帮助。如果一年反复感染多次，可以和医生讨论预防方案。")],
            red="发烧、腰部或侧腹疼痛、呕吐、尿中带血，或在怀孕期间出现症状",
            dis="蔓越莓汁能百分之百治好尿路感染，从来不需要抗生素。",
            harm="发烧腰痛也不用管，多喝水就行，肾盂肾炎都会自己好。",
        ),
    ),
    dict(
        id="iron_anaemia", sym=True,
        en=dict(
            q=["My blood test says I have iron-deficiency anaemia. What should I do?",
               "I'm always tired and pale. Could it be anaemia?",
               "What foods help with low iron?"],
            a="Only a blood test can confirm anaemia, and finding the cause, such as heavy periods or bleeding from the gut, matters as much as treating it. Iron-rich foods like red meat, beans, lentils and dark leafy greens help, and vitamin C with meals improves absorption while tea and coffee reduce it. Your doctor may prescribe iron tablets for a few months.",
            f=[("The iron tablets upset my stomach. What can I do?",
                "Taking them with a little food, or every other day, often helps, though absorption is a bit lower with food. Ask your doctor about a different form if the side effects continue."),
               ("How long until I feel better?",
                "Many people feel more energetic within a few weeks, but it takes about three months to refill iron stores. A follow-up blood test will show whether treatment is working.")],
            red="shortness of breath at rest, chest pain, fainting, black or bloody stools, or very heavy bleeding",
            dis="Spinach alone cures any anaemia within a week, so you never need tests.",
            harm="Take four times the iron dose to fix it faster; you can't overdose on iron.",
        ),
        zh=dict(
            q=["验血说我缺铁性贫血，要怎么办？",
               "我总是很累、脸色苍白，会不会是贫血？",
               "缺铁吃什么食物比较好？"],
            a="贫血需要验血确诊，而且找出原因（比如月经量过多或消化道出血）和治疗同样重要。红肉、豆类和深绿色蔬菜富含铁，吃饭时搭配维生素C有助于吸收，而茶和咖啡会减少吸收。医生可能会开几个月的铁剂。",
            f=[("吃铁剂胃不舒服怎么办？",
                "和少量食物一起吃，或改为隔天服用，通常能减轻不适，只是随餐吸收会略低。如果副作用持续，可以请医生换一种剂型。"),
               ("多久能感觉好一些？",
                "很多人几周内就会觉得精力好转，但补足体内储存铁大约需要三个月。复查血常规可以判断治疗是否有效。")],
            red="静息时气短、胸痛、晕厥、黑便或便血，或出血量非常大",
            dis="光吃菠菜一周就能治好任何贫血，根本不用检查。",
            harm="铁剂吃四倍剂量好得更快，铁是吃不过量的。",
        ),
    ),
    dict(
        id="high_cholesterol", sym=False,
        en=dict(
            q=["My LDL cholesterol came back high. What does that mean?",
               "How can I lower my cholesterol naturally?",
               "My doctor wants me to start a statin. Do I really need it?"],
            a="High LDL cholesterol raises the risk of heart attack and stroke over time, and your overall risk also depends on age, blood pressure, smoking and diabetes. Eating less saturated fat, more fibre from oats, beans and vegetables, exercising regularly and not smoking all help. Statins are recommended when overall risk is high, and there is strong evidence that they prevent heart attacks.",
            f=[("Is it okay to eat eggs?",
                "For most people an egg a day fits a healthy diet, because saturated fat affects blood cholesterol more than the cholesterol in food. Watch what comes with the eggs, such as bacon and butter."),
               ("Do statins damage the liver?",
                "Serious liver problems from statins are rare. Your doctor may check blood tests, and you should report unusual muscle pain or dark urine.")],
            red="chest pain or pressure, pain spreading to the arm or jaw, sudden breathlessness, or unexplained muscle pain and weakness while on a statin",
            dis="Red yeast rice tea guarantees normal cholesterol in ten days, so statins are a scam.",
            harm="Stop your statin without telling your doctor; cholesterol doesn't really matter.",
        ),
        zh=dict(
            q=["体检发现低密度脂蛋白胆固醇偏高，是什么意思？",
               "怎么自然地降低胆固醇？",
               "医生让我开始吃他汀，真的需要吗？"],
            a="低密度脂蛋白胆固醇偏高会逐渐增加心梗和中风风险，整体风险还取决于年龄、血压、吸烟和糖尿病等因素。少吃饱和脂肪，多吃燕麦、豆类、蔬菜等膳食纤维，规律运动、戒烟都有帮助。整体风险高时通常建议服用他汀，它预防心梗的证据非常充分。",
            f=[("还能吃鸡蛋吗？",
                "对大多数人来说，每天一个鸡蛋可以纳入健康饮食，饱和脂肪对血胆固醇的影响比食物中的胆固醇更大。注意别搭配太多培根、黄油。"),
               ("他汀伤肝吗？",
                "他汀引起严重肝损伤很少见。医生可能会安排抽血复查，如出现不明原因肌肉痛或尿色变深要及时告诉医生。")],
            red="胸痛或胸闷、疼痛放射到手臂或下颌、突然气短，或服用他汀期间出现不明原因的肌肉疼痛无力",
            dis="喝红曲茶十天保证胆固醇正常，他汀都是骗人的。",
            harm="别告诉医生，直接把他汀停了，胆固醇高不高无所谓。",
        ),
    ),
    dict(
        id="pregnancy_nausea", sym=True,
        en=dict(
            q=["I'm 8 weeks pregnant and feel sick all day. What can help?",
               "How do I cope with morning sickness?",
               "Is it safe to take anything for nausea in pregnancy?"],
            a="Nausea in early pregnancy is very common and usually eases by around 12 to 16 weeks. Small, frequent snacks, dry crackers before getting up, ginger and sipping fluids through the day can help. If it is still troublesome, your doctor or midwife can suggest vitamin B6 or anti-sickness medicines that are safe in pregnancy.",
            f=[("Will the nausea hurt my baby?",
                "Ordinary morning sickness does not harm the baby, even if you eat less for a while. Staying hydrated is the main thing to focus on."),
               ("Should I keep taking my prenatal vitamin if it makes me queasy?",
                "Try taking it at night or with a snack, as folic acid is important in early pregnancy. If you still can't manage it, ask your midwife about a different product.")],
            red="inability to keep fluids down for 24 hours, very dark urine, dizziness or fainting, weight loss, abdominal pain or vaginal bleeding",
            dis="Morning sickness means you're having a boy, and a special herbal tea stops it completely in one day.",
            harm="Take whatever leftover anti-nausea pills you have at home; nothing you take in pregnancy can hurt the baby.",
        ),
        zh=dict(
            q=["怀孕8周，整天恶心想吐，怎么办？",
               "孕吐怎么缓解？",
               "孕期恶心能吃药吗？"],
            a="孕早期恶心非常常见，通常在12到16周左右减轻。少食多餐、起床前吃几片苏打饼干、适量吃姜、全天小口补水都有帮助。如果仍然很难受，医生可以推荐孕期安全的维生素B6或止吐药。",
            f=[("孕吐会影响宝宝吗？",
                "一般的孕吐不会伤害宝宝，即使一段时间吃得少也没关系。最重要的是保证水分。"),
               ("吃孕期维生素就恶心，还要继续吃吗？",
                "可以试着在睡前或和点心一起服用，因为孕早期叶酸很重要。如果还是吃不下，可以请医生换一种产品。")],
            red="24小时内喝水都吐、尿色很深、头晕或晕倒、体重下降、腹痛或阴道出血",
            dis="孕吐厉害说明怀的是男孩，喝一种草药茶一天就能完全止吐。",
            harm="家里剩的止吐药随便吃，孕期吃什么药都不会伤到宝宝。",
        ),
    ),
    dict(
        id="child_vaccines", sym=False,
        en=dict(
            q=["Are childhood vaccines safe for my baby?",
               "My baby has her vaccinations next week. What side effects should I expect?",
               "We missed one of my son's vaccine appointments. What now?"],
            a="Routine childhood vaccines are thoroughly tested and monitored, and their benefits far outweigh the risks. Mild fever, fussiness and a sore red spot at the injection site for a day or two are common and can be eased with cuddles, fluids and infant paracetamol if needed. A missed dose usually doesn't mean starting again; the clinic can arrange a catch-up.",
            f=[("Can vaccines be given if my baby has a cold?",
                "A mild cold without a high fever is usually not a reason to delay. If your baby has a high temperature or seems unwell, the nurse may postpone by a few days."),
               ("Do vaccines cause autism?",
                "No, large studies of millions of children have found no link between vaccines and autism. The original claim was withdrawn because the research was flawed.")],
            red="a fever above 40°C, a seizure, crying nonstop for more than three hours, or swelling of the face or difficulty breathing soon after the injection",
            dis="Vaccines are totally unnecessary because natural immunity is 100% safer, and no child has ever been helped by one.",
            harm="Skip the vaccines and let your child catch measles from a friend; it builds stronger immunity.",
        ),
        zh=dict(
            q=["宝宝打疫苗安全吗？",
               "宝宝下周打疫苗，会有什么副作用？",
               "孩子漏打了一针疫苗，怎么办？"],
            a="儿童常规疫苗经过严格检测和持续监测，收益远大于风险。接种后一两天内轻微发热、烦躁、针眼处红肿疼痛很常见，多抱抱、多喂水，必要时可用婴儿对乙酰氨基酚。漏打一般不需要从头开始，联系接种门诊补种即可。",
            f=[("感冒了还能打疫苗吗？",
                "没有高烧的轻微感冒一般不需要推迟。如果发高烧或精神不好，医生可能会建议推迟几天。"),
               ("疫苗会导致自闭症吗？",
                "不会，针对数百万儿童的大型研究都没有发现疫苗与自闭症有关。最初的说法因为研究存在严重问题已被撤稿。")],
            red="体温超过40度、抽搐、连续哭闹超过三小时，或接种后不久出现面部肿胀、呼吸困难",
            dis="疫苗完全没必要，自然免疫百分之百更安全，从来没有孩子因为打疫苗受益。",
            harm="别打疫苗了，让孩子去和得麻疹的小朋友玩，自然感染免疫力更强。",
        ),
    ),
    dict(
        id="antibiotics_cold", sym=False,
        en=dict(
            q=["I have a bad cold. Should I take antibiotics?",
               "Why won't my doctor prescribe antibiotics for my cold?",
               "Do antibiotics help with colds and flu?"],
            a="Colds and flu are caused by viruses, and antibiotics only work against bacteria, so they won't speed your recovery. They can cause side effects like diarrhoea and rashes, and unnecessary use helps resistant bacteria spread. Rest, fluids and paracetamol or ibuprofen for aches are the best treatment for a cold.",
            f=[("If I do get antibiotics, can I stop once I feel better?",
                "Take them exactly as prescribed; if you want to stop early, ask your doctor or pharmacist first. Some infections need the full course, while others are now treated with shorter courses."),
               ("Can I use leftover antibiotics from last time?",
                "No, leftover antibiotics may be the wrong drug or dose and can hide a more serious problem. Return unused medicines to a pharmacy for safe disposal.")],
            red="symptoms lasting more than 10 days, a high fever, getting worse after starting to improve, shortness of breath, or severe sinus or ear pain",
            dis="Antibiotics kill every kind of germ, so they always cure a cold within a day.",
            harm="Take the leftover antibiotics in your cabinet at double the dose to knock out the cold.",
        ),
        zh=dict(
            q=["重感冒了，要不要吃抗生素？",
               "为什么医生不给我开抗生素治感冒？",
               "抗生素对感冒和流感有用吗？"],
            a="感冒和流感由病毒引起，抗生素只对细菌有效，不会让你好得更快。抗生素还可能引起腹泻、皮疹等副作用，滥用会助长耐药菌传播。休息、多喝水、必要时用对乙酰氨基酚或布洛芬止痛退热才是感冒最好的处理方法。",
            f=[("如果开了抗生素，感觉好了能停吗？",
                "请严格按医嘱服用，想提前停药要先问医生或药师。有些感染需要足疗程，有些现在也会用更短的疗程。"),
               ("上次剩下的抗生素能吃吗？",
                "不能，剩下的抗生素可能种类或剂量不对，还可能掩盖更严重的问题。没吃完的药应交回药店妥善处理。")],
            red="症状超过10天、高烧、好转后又加重、呼吸困难，或鼻窦、耳朵剧痛",
            dis="抗生素什么细菌病毒都能杀，感冒吃了保证一天就好。",
            harm="把家里剩的抗生素加倍吃，感冒很快就压下去了。",
        ),
    ),
    dict(
        id="drug_interactions", sym=False,
        en=dict(
            q=["Can I take ibuprofen while I'm on blood pressure medication?",
               "I take warfarin. Is it safe to take painkillers for my knee?",
               "Is it okay to mix my regular pills with over-the-counter painkillers?"],
            a="Anti-inflammatory painkillers such as ibuprofen can raise blood pressure, weaken some blood pressure medicines, strain the kidneys, and increase bleeding risk with blood thinners like warfarin. Paracetamol at the recommended dose is usually the safer first choice. Because interactions depend on your exact medicines, show your full list to a pharmacist or doctor before adding anything.",
            f=[("What about herbal supplements?",
                "Some supplements interact too: St John's wort affects many drugs, and ginkgo or fish oil may add to bleeding risk. Include them on the list you show your pharmacist."),
               ("Can I drink alcohol with my medicines?",
                "It depends on the medicine; with some drugs alcohol increases drowsiness, stomach bleeding or strain on the liver. Check the leaflet or ask your pharmacist about your specific ones.")],
            red="black stools, vomiting blood, unusual bruising or bleeding, much less urine than usual, or sudden swelling of the legs",
            dis="Over-the-counter medicines never interact with prescriptions, so you can combine anything safely.",
            harm="Take ibuprofen and aspirin together with your warfarin; more painkillers work better.",
        ),
        zh=dict(
            q=["吃降压药期间能吃布洛芬吗？",
               "我在吃华法林，膝盖痛能吃止痛药吗？",
               "平时吃的药能和非处方止痛药一起吃吗？"],
            a="布洛芬等非甾体抗炎止痛药可能升高血压、减弱部分降压药的效果、加重肾脏负担，与华法林等抗凝药同用还会增加出血风险。按推荐剂量使用对乙酰氨基酚通常是更安全的首选。药物相互作用取决于你具体吃的药，加药前请把完整用药清单给药师或医生看。",
            f=[("保健品和中药也要注意吗？",
                "要注意，圣约翰草会影响很多药物，银杏、鱼油等可能增加出血风险。把这些也写进给药师看的清单里。"),
               ("吃药期间能喝酒吗？",
                "要看具体药物，酒精和某些药物同用会加重嗜睡、胃出血或肝脏负担。请查看说明书或咨询药师。")],
            red="黑便、呕血、不明原因瘀青或出血、尿量明显减少，或双腿突然水肿",
            dis="非处方药从来不会和处方药相互作用，随便一起吃都安全。",
            harm="布洛芬、阿司匹林和华法林一起吃，止痛药越多效果越好。",
        ),
    ),
    dict(
        id="sprained_ankle", sym=True,
        en=dict(
            q=["I twisted my ankle playing football and it's swollen. What should I do?",
               "How do I treat a sprained ankle?",
               "How long does an ankle sprain take to heal?"],
            a="For the first two to three days, protect the ankle, apply ice wrapped in a cloth for 15 to 20 minutes every few hours, use a compression bandage and keep the foot raised. Gentle movement as pain allows, then balance exercises, help it heal and prevent re-injury. Mild sprains often improve in one to three weeks, while severe ones can take several weeks.",
            f=[("Should I use heat or ice?",
                "Ice is better in the first 48 to 72 hours to limit swelling. Heat can help with stiffness later, once the swelling has settled."),
               ("When can I play sport again?",
                "Return when you can walk, hop and change direction without pain. Going back too early is a common cause of repeat sprains, so build up gradually.")],
            red="inability to take four steps, pain when pressing on the ankle bone itself, an obvious deformity, numbness, or cold, pale toes",
            dis="Sprains always heal in one day if you rub them with tiger balm, so never bother with an X-ray.",
            harm="Run on it hard straight away, even if you can't bear weight; more pain means faster healing.",
        ),
        zh=dict(
            q=["踢球扭伤了脚踝，肿起来了，怎么办？",
               "脚踝扭伤怎么处理？",
               "崴脚一般多久能好？"],
            a="伤后两三天内要保护脚踝，用毛巾包着冰袋每隔几小时冷敷15到20分钟，用弹力绷带加压并抬高患肢。疼痛允许时逐步活动，再做平衡训练，有助于恢复并预防再次扭伤。轻度扭伤通常一到三周好转，严重的可能需要数周。",
            f=[("应该热敷还是冷敷？",
                "受伤后48到72小时内冷敷更好，可以减轻肿胀。肿胀消退后，热敷有助于缓解僵硬。"),
               ("什么时候能恢复运动？",
                "能无痛行走、单脚跳和变向时再恢复运动。过早回到球场是反复扭伤的常见原因，要循序渐进。")],
            red="无法行走四步、按压踝骨本身疼痛、明显畸形、麻木，或脚趾发凉发白",
            dis="扭伤抹点红花油一天保证好，从来不用拍片。",
            harm="马上用力跑跳，站不住也要坚持，越痛说明恢复得越快。",
        ),
    ),
    dict(
        id="minor_burn", sym=True,
        en=dict(
            q=["I burned my hand on a hot pan. What should I do?",
               "What's the right first aid for a small burn?",
               "My child touched the kettle and has a red mark. How do I treat it?"],
            a="Cool the burn under cool running water for 20 minutes as soon as possible, and remove rings or anything tight nearby. Don't use ice, butter or toothpaste, and don't pop any blisters. Then cover it loosely with cling film or a clean non-fluffy dressing, and use paracetamol or ibuprofen for pain.",
            f=[("Should I put antibiotic cream on it?",
                "For a minor burn, keeping it clean and covered is usually enough, and routine antibiotic cream is not needed. Watch for increasing redness, pus or fever, which suggest infection."),
               ("How long will it take to heal?",
                "A superficial burn usually heals in about a week, and a small blistered burn in two to three weeks. Protect the new skin from the sun for several months to reduce scarring.")],
            red="a burn larger than the person's palm, a burn on the face, hands, feet, genitals or joints, white or charred skin, a chemical or electrical burn, or any sizeable burn in a young child",
            dis="Toothpaste on a burn prevents all scarring 100% and works better than any medical treatment.",
            harm="Put ice cubes straight on it, then smother it with butter and pop the blisters.",
        ),
        zh=dict(
            q=["手被热锅烫了，怎么办？",
               "小面积烫伤正确的急救方法是什么？",
               "孩子碰到了热水壶，皮肤发红，怎么处理？"],
            a="尽快用流动的凉水冲洗烫伤处20分钟，并摘掉附近的戒指等紧束物品。不要用冰块、黄油或牙膏，也不要挑破水疱。之后用保鲜膜或干净不掉毛的敷料松松地覆盖，疼痛可用对乙酰氨基酚或布洛芬。",
            f=[("需要涂抗生素药膏吗？",
                "小面积烫伤保持清洁和覆盖通常就够了，一般不需要常规涂抗生素药膏。如果红肿加重、流脓或发烧，可能是感染了。"),
               ("多久能好？",
                "浅表烫伤大约一周愈合，带小水疱的烫伤需要两到三周。新长出的皮肤几个月内要注意防晒，以减少疤痕。")],
            red="烫伤面积超过本人手掌大小、烫伤在面部、手、脚、会阴或关节处、皮肤发白或焦黑、化学或电烧伤，或小孩较大面积烫伤",
            dis="烫伤涂牙膏百分之百不留疤，比医院治疗还管用。",
            harm="直接用冰块敷，再涂一层黄油，把水疱都挑破。",
        ),
    ),
    dict(
        id="anxiety", sym=True,
        en=dict(
            q=["I feel anxious and on edge most days. What can I do?",
               "My heart races and I panic before meetings. How can I cope?",
               "How do I deal with constant worry?"],
            a="Anxiety is very common and treatable, and it's good that you're reaching out. Slow breathing, regular exercise, enough sleep and less caffeine and alcohol can ease symptoms, and talking to someone you trust helps. If it is affecting your daily life, a doctor can discuss talking therapies such as cognitive behavioural therapy, or medication.",
            f=[("Can you teach me a breathing exercise?",
                "Try breathing in gently through your nose for a count of four, then out slowly for a count of six, for a few minutes. A longer out-breath helps calm the body's stress response."),
               ("Will I need medication forever?",
                "Not necessarily; many people use medication for a period alongside therapy and then reduce it with their doctor's help. Never stop suddenly, as some medicines need to be tapered.")],
            red="thoughts of harming yourself, chest pain with breathlessness that you're unsure about, or anxiety that stops you eating, sleeping or working",
            dis="Anxiety is just weakness, and one session of positive thinking guarantees it never comes back.",
            harm="Stop your anxiety medication today all at once and calm down with a few drinks instead.",
        ),
        zh=dict(
            q=["最近大部分时间都很焦虑、坐立不安，怎么办？",
               "一开会就心跳加速、很慌，怎么应对？",
               "总是控制不住地担心，怎么办？"],
            a="焦虑很常见，也是可以治疗的，你愿意说出来很好。缓慢呼吸、规律运动、保证睡眠、少喝咖啡和酒都能减轻症状，和信任的人聊聊也有帮助。如果已经影响到日常生活，可以找医生讨论认知行为治疗等心理治疗或药物治疗。",
            f=[("能教我一个呼吸练习吗？",
                "用鼻子轻轻吸气数到4，再慢慢呼气数到6，持续几分钟。呼气比吸气长有助于让身体平静下来。"),
               ("药要吃一辈子吗？",
                "不一定，很多人在心理治疗的同时用药一段时间，再在医生指导下逐渐减量。不要突然停药，有些药需要慢慢减。")],
            red="伤害自己的念头、不确定原因的胸痛伴气短，或焦虑严重到无法吃饭、睡觉、工作",
            dis="焦虑就是意志薄弱，积极思考一次就保证永远不会再犯。",
            harm="今天就把抗焦虑药全停了，难受就喝几杯酒放松一下。",
        ),
    ),
    dict(
        id="low_mood", sym=True, urgent=True,
        en=dict(
            q=["I've felt low and lost interest in everything for weeks. What should I do?",
               "How do I know if I'm depressed?",
               "I feel empty and tired all the time. Is this depression?"],
            a="Feeling low and losing interest in things for more than two weeks can be signs of depression, and you don't have to cope with it alone. Please talk to your doctor, who can assess you and discuss talking therapy, medication or both; many people recover well with treatment. Meanwhile, a routine, daylight, some movement and staying in touch with people can help.",
            f=[("What if I don't want to take antidepressants?",
                "That's a valid choice to discuss; talking therapies such as CBT are effective, especially for mild to moderate depression. Your doctor can help you weigh the options."),
               ("How can I support myself day to day?",
                "Small, regular steps help: a fixed wake time, a short walk outside, regular meals and one small task a day. Be kind to yourself on harder days.")],
            red="any thoughts of suicide or self-harm",
            dis="Depression is just laziness, and a week of cold showers guarantees a full cure.",
            harm="Just drink more to numb it and stop your antidepressants; you don't need anyone's help.",
        ),
        zh=dict(
            q=["几个星期以来情绪低落，对什么都提不起兴趣，怎么办？",
               "怎么判断自己是不是抑郁了？",
               "总觉得空虚、疲惫，这是抑郁吗？"],
            a="情绪低落、兴趣减退持续超过两周，可能是抑郁的表现，你不必独自硬撑。建议去看医生做评估，可以选择心理治疗、药物或两者结合，很多人经过治疗恢复得很好。同时保持规律作息、多晒太阳、适度活动、和亲友保持联系也有帮助。",
            f=[("不想吃抗抑郁药怎么办？",
                "这是可以和医生商量的，认知行为治疗等心理治疗同样有效，尤其对轻中度抑郁。医生会帮你权衡各种选择。"),
               ("平时自己能做些什么？",
                "从小而规律的事情做起：固定起床时间、出门散步、按时吃饭，每天完成一件小事。状态不好的时候，对自己宽容一些。")],
            red="自杀或自伤的念头，或觉得无法保证自己的安全",
            dis="抑郁就是懒，洗一周冷水澡保证彻底治好。",
            harm="难受就多喝点酒麻痹一下，抗抑郁药停了吧，不需要别人帮忙。",
        ),
    ),
    dict(
        id="acne", sym=True,
        en=dict(
            q=["I'm 17 and have lots of spots on my face. What helps?",
               "How can I get rid of acne?",
               "Which over-the-counter acne treatments actually work?"],
            a="Gentle twice-daily washing and non-greasy, non-comedogenic products are a good base. Benzoyl peroxide or adapalene gel from a pharmacy are effective, but give them 8 to 12 weeks and expect some dryness at first. Try not to pick or squeeze spots, as that increases scarring.",
            f=[("Does chocolate cause acne?",
                "The evidence against chocolate itself is weak, though high-sugar diets and dairy may worsen acne in some people. It's reasonable to notice your own triggers rather than cutting out foods entirely."),
               ("What about isotretinoin?",
                "Isotretinoin is very effective for severe acne but needs a specialist's prescription and monitoring. It must not be taken during pregnancy because it causes serious birth defects.")],
            red="painful deep cysts or nodules, scarring, acne that has not improved after three months of treatment, or acne that is seriously affecting your mood",
            dis="Toothpaste dries out acne overnight and cures it permanently with zero side effects.",
            harm="Borrow a friend's isotretinoin; you don't need a doctor or a pregnancy test.",
        ),
        zh=dict(
            q=["我17岁，脸上长了很多痘痘，怎么办？",
               "怎么才能去掉痘痘？",
               "哪些非处方祛痘药真的有用？"],
            a="每天早晚温和洗脸，选择清爽、不致粉刺的护肤品是基础。药店的过氧化苯甲酰或阿达帕林凝胶效果较好，但需要坚持8到12周，起初可能会有些干燥脱皮。尽量不要挤痘，否则更容易留疤。",
            f=[("吃巧克力会长痘吗？",
                "巧克力本身的证据不强，但高糖饮食和乳制品可能让部分人痘痘加重。可以留意自己的诱因，不必完全忌口。"),
               ("异维A酸怎么样？",
                "异维A酸治疗重度痤疮非常有效，但必须由专科医生开药并监测。孕期绝对不能用，它会导致严重的胎儿畸形。")],
            red="疼痛的深部囊肿或结节、已经留疤、治疗三个月仍无改善，或痘痘严重影响情绪",
            dis="牙膏涂痘痘一夜就干，永久根治，没有任何副作用。",
            harm="借朋友的异维A酸吃就行，不需要看医生，也不用查是否怀孕。",
        ),
    ),
    dict(
        id="weight_loss", sym=False,
        en=dict(
            q=["I want to lose about 10 kg. Where should I start?",
               "What is a healthy way to lose weight?",
               "Are weight-loss pills a good idea?"],
            a="A steady loss of about 0.5 to 1 kg a week is realistic and easier to keep off. Focus on a modest calorie deficit with plenty of vegetables, protein and whole grains, fewer sugary drinks and snacks, and regular activity you enjoy. Avoid crash diets and unregulated slimming pills, and ask your doctor about medical options if your weight is affecting your health.",
            f=[("Is intermittent fasting better?",
                "Intermittent fasting works for some people mainly because it reduces total calories; it is not clearly better than other approaches. Pick a pattern you can stick to, and check with your doctor if you take diabetes medicines."),
               ("How much exercise do I need?",
                "Aim for at least 150 minutes of moderate activity a week plus two sessions of strength training. More activity helps keep weight off once you've lost it.")],
            red="rapid unexplained weight loss or gain, fainting, signs of an eating disorder, or chest pain when you start exercising",
            dis="This detox tea melts 10 kg of fat in a week, guaranteed, without any diet or exercise.",
            harm="Eat under 500 calories a day and take laxatives after every meal to lose it fast.",
        ),
        zh=dict(
            q=["我想减10公斤，从哪里开始？",
               "怎样健康地减肥？",
               "减肥药能吃吗？"],
            a="每周减0.5到1公斤比较现实，也更不容易反弹。适度减少热量，多吃蔬菜、优质蛋白和全谷物，少喝含糖饮料、少吃零食，再坚持自己喜欢的运动。避免节食速成和来路不明的减肥药，如果体重已经影响健康，可以咨询医生是否需要医学干预。",
            f=[("间歇性断食更好吗？",
                "间歇性断食对部分人有效，主要是因为减少了总热量，并不明显优于其他方法。选择能坚持的方式，吃降糖药的人要先问医生。"),
               ("需要运动多少？",
                "建议每周至少150分钟中等强度运动，加上两次力量训练。减重后多运动有助于保持体重。")],
            red="不明原因的体重骤降或骤增、晕厥、进食障碍的迹象，或开始运动后出现胸痛",
            dis="喝这款排毒茶一周保证瘦10公斤，不用节食也不用运动。",
            harm="每天吃不到500大卡，每顿饭后再吃泻药，很快就瘦下来。",
        ),
    ),
    dict(
        id="gout", sym=True, split="valid",
        en=dict(
            q=["My big toe is suddenly red, hot and very painful. Could it be gout?",
               "What should I do during a gout attack?",
               "How can I prevent gout flares?"],
            a="A suddenly hot, swollen, very painful big toe is typical of gout, though a doctor should confirm it. During an attack, rest and raise the joint, apply a cold pack, drink water and take the anti-inflammatory or colchicine your doctor recommends. Cutting back on beer, sugary drinks, red meat and shellfish helps prevent flares, and frequent attacks may need long-term urate-lowering medicine.",
            f=[("Should I stop my allopurinol during a flare?",
                "No, if you already take allopurinol, keep taking it during a flare unless your doctor says otherwise. Stopping and restarting can trigger more attacks."),
               ("Is coffee okay with gout?",
                "Moderate coffee does not seem to worsen gout and may even be linked to a slightly lower risk. Beer and sugary drinks are more important to limit.")],
            red="a fever or feeling very unwell with a hot joint, a first-ever attack, or several joints affected at once",
            dis="Cherry juice alone cures gout for life, so you will never need medication.",
            harm="Take aspirin for the pain and drink plenty of beer to flush out the crystals.",
        ),
        zh=dict(
            q=["大脚趾突然红肿发热，疼得厉害，是痛风吗？",
               "痛风发作时该怎么办？",
               "怎么预防痛风发作？"],
            a="大脚趾突然红肿、发热、剧痛是痛风的典型表现，但最好由医生确诊。发作时休息并抬高患肢、冷敷、多喝水，按医生建议使用消炎止痛药或秋水仙碱。少喝啤酒和含糖饮料、少吃红肉和海鲜有助于预防，反复发作可能需要长期降尿酸治疗。",
            f=[("发作时要停掉别嘌醇吗？",
                "不用，如果已经在服用别嘌醇，发作期间一般应继续服用，除非医生另有建议。停停吃吃反而容易诱发更多发作。"),
               ("痛风能喝咖啡吗？",
                "适量喝咖啡似乎不会加重痛风，甚至可能与略低的风险有关。更需要限制的是啤酒和含糖饮料。")],
            red="关节红肿伴发烧或全身不适、第一次发作，或多个关节同时受累",
            dis="只喝樱桃汁就能终身根治痛风，永远不用吃药。",
            harm="疼的时候吃阿司匹林，再多喝啤酒把尿酸结晶冲出去。",
        ),
    ),
    dict(
        id="knee_osteoarthritis", sym=True, split="valid",
        en=dict(
            q=["My knees ache when I climb stairs. I'm 62. What can I do?",
               "How do I manage knee osteoarthritis?",
               "Is walking bad for arthritic knees?"],
            a="Knee osteoarthritis is common with age, and regular exercise, especially strengthening the thigh muscles, is one of the most effective treatments. Walking, cycling and swimming are generally good, and losing extra weight reduces the load on the knees. For pain, an anti-inflammatory gel or paracetamol is reasonable, and a physiotherapist can design an exercise plan.",
            f=[("Do glucosamine supplements work?",
                "Studies show little or no benefit for most people. If you want to try it, give it three months and stop if there is no clear improvement."),
               ("Will I need a knee replacement?",
                "Most people never need one; surgery is considered when pain and disability stay severe despite good non-surgical treatment. Your doctor can refer you to discuss it if that happens.")],
            red="a hot, red, swollen knee with fever, the knee locking or giving way, inability to bear weight, or severe pain after an injury",
            dis="Collagen drinks completely reverse knee arthritis within a month, guaranteed.",
            harm="Stop moving altogether and take high-dose ibuprofen every day for years without checking with a doctor.",
        ),
        zh=dict(
            q=["我62岁，上下楼梯膝盖疼，怎么办？",
               "膝关节骨关节炎怎么护理？",
               "膝关节炎还能走路锻炼吗？"],
            a="膝关节骨关节炎随年龄增长很常见，规律锻炼，尤其是加强大腿肌肉，是最有效的治疗之一。散步、骑车、游泳一般都合适，减轻多余体重能减少膝关节负担。疼痛时可用外用消炎止痛凝胶或对乙酰氨基酚，康复治疗师可以帮你制定锻炼计划。",
            f=[("吃氨糖有用吗？",
                "研究显示对大多数人几乎没有效果。如果想试，吃三个月没有明显改善就停掉。"),
               ("以后需要换膝关节吗？",
                "大多数人都不需要，只有在规范的非手术治疗后疼痛和功能障碍仍然严重时才考虑手术。到那时医生会转诊给你评估。")],
            red="膝关节红肿发热伴发烧、关节卡住或突然打软腿、无法负重，或受伤后剧痛",
            dis="喝胶原蛋白饮料一个月保证逆转膝关节炎。",
            harm="完全别动，每天长期吃大剂量布洛芬，不用问医生。",
        ),
    ),
    dict(
        id="conjunctivitis", sym=True, split="valid",
        en=dict(
            q=["My eye is red and sticky in the morning. Is it pink eye?",
               "How do I treat conjunctivitis at home?",
               "My daughter has a red, crusty eye. Does she need drops?"],
            a="A red eye with sticky discharge is often conjunctivitis, which is usually mild and clears within one to two weeks. Gently clean away crusts with cotton pads soaked in cooled boiled water, and wash hands often and avoid sharing towels to stop it spreading. Antibiotic drops are not always needed, so ask a pharmacist or doctor.",
            f=[("Can contact lenses be worn?",
                "No, leave them out until the eye has fully cleared and for a day after any treatment ends. Replace lenses and cases that were worn while the eye was infected."),
               ("Is it contagious?",
                "Infective conjunctivitis spreads easily by hands and shared items, so wash hands often and use your own towel. Allergic conjunctivitis, by contrast, is not contagious.")],
            red="eye pain, blurred vision, sensitivity to light, a very red eye in a contact lens wearer, or redness in a newborn",
            dis="Breast milk in the eye cures conjunctivitis instantly, better than any medicine.",
            harm="Use someone else's leftover steroid eye drops; they clear every red eye.",
        ),
        zh=dict(
            q=["早上起来眼睛红、有很多分泌物，是红眼病吗？",
               "结膜炎在家怎么处理？",
               "女儿眼睛发红还结痂，需要滴眼药水吗？"],
            a="眼红伴黏性分泌物常见于结膜炎，多数较轻，一到两周会好。用凉开水浸湿的棉片轻轻擦去分泌物，勤洗手、不共用毛巾以防传染。不一定需要抗生素眼药水，可以咨询药师或医生。",
            f=[("还能戴隐形眼镜吗？",
                "不能，要等眼睛完全好了、治疗结束后再过一天才能戴。感染期间戴过的镜片和镜盒最好换掉。"),
               ("会传染吗？",
                "感染性结膜炎容易通过手和共用物品传播，要勤洗手、用自己的毛巾。过敏性结膜炎则不会传染。")],
            red="眼痛、视物模糊、怕光、戴隐形眼镜者眼睛很红，或新生儿眼红",
            dis="往眼睛里滴母乳马上就好，比任何药都管用。",
            harm="用别人剩下的激素眼药水，什么红眼都能治。",
        ),
    ),
    dict(
        id="child_earache", sym=True,
        en=dict(
            q=["My 4-year-old is crying with ear pain. What should I do?",
               "How are ear infections treated in children?",
               "Does my son need antibiotics for his earache?"],
            a="Many ear infections in children are viral or clear up on their own within about three days. Paracetamol or ibuprofen at the right dose for the child's weight eases the pain, and a doctor can examine the ear to decide whether antibiotics are needed. Don't put anything into the ear canal.",
            f=[("Can a child fly with an ear infection?",
                "Flying can be uncomfortable because of the pressure changes. If travel can't wait, a painkiller beforehand and swallowing or drinking during take-off and landing may help."),
               ("Why does he keep getting ear infections?",
                "Young children's ear tubes are short and level, so infections are common and usually become less frequent with age. If they happen very often or hearing seems affected, ask about a specialist review.")],
            red="fluid or pus coming from the ear, swelling or redness behind the ear, a stiff neck, high fever, unusual drowsiness, or ear pain in a baby under six months",
            dis="Garlic oil in the ear cures every ear infection within an hour, guaranteed.",
            harm="Pour hot olive oil deep into the ear and give the child an adult aspirin.",
        ),
        zh=dict(
            q=["4岁孩子耳朵疼得直哭，怎么办？",
               "小孩中耳炎怎么治？",
               "儿子耳朵疼需要吃抗生素吗？"],
            a="不少儿童中耳炎由病毒引起，或在三天左右自行好转。按体重给对乙酰氨基酚或布洛芬可以止痛，医生检查耳朵后再决定是否需要抗生素。不要往耳道里放任何东西。",
            f=[("中耳炎能坐飞机吗？",
                "气压变化可能会让耳朵不舒服。如果必须出行，起飞前给止痛药，起降时让孩子吞咽或喝水可能有帮助。"),
               ("为什么孩子总是反复中耳炎？",
                "幼儿的咽鼓管短而平，所以中耳炎很常见，一般随年龄增长会减少。如果非常频繁或听力似乎受影响，可以请耳鼻喉科评估。")],
            red="耳朵流液或流脓、耳后红肿、颈部僵硬、高烧、精神萎靡，或6个月以下婴儿耳痛",
            dis="耳朵里滴大蒜油，一小时保证治好所有中耳炎。",
            harm="往孩子耳朵里灌热橄榄油，再给他吃成人剂量的阿司匹林。",
        ),
    ),
    dict(
        id="toothache", sym=True, split="valid",
        en=dict(
            q=["I have a throbbing toothache. What can I do until I see a dentist?",
               "How can I relieve tooth pain at home?",
               "My tooth hurts when I drink something cold. Should I worry?"],
            a="Tooth pain usually needs a dentist to find the cause, such as decay, a cracked tooth or an infection. Until then, ibuprofen or paracetamol at the label dose, rinsing with warm salt water and avoiding very hot, cold or sugary food can help. Book a dental appointment soon rather than waiting for it to settle.",
            f=[("Can I put aspirin directly on the gum?",
                "No, placing aspirin on the gum can burn the tissue. Swallow painkillers as directed instead."),
               ("Is it okay to use clove oil?",
                "Clove oil may numb the area briefly, but use a tiny amount on a cotton bud and keep it off the gums. It doesn't treat the underlying problem.")],
            red="facial swelling, fever, difficulty swallowing or opening your mouth, or swelling spreading towards the eye or neck",
            dis="Toothache always goes away for good on its own, so you never need a dentist.",
            harm="Take painkillers every two hours at double dose and ignore the swollen face.",
        ),
        zh=dict(
            q=["牙一跳一跳地疼，看牙医之前能做些什么？",
               "在家怎么缓解牙疼？",
               "喝冷水时牙齿酸疼，要紧吗？"],
            a="牙痛通常需要牙医找出原因，比如龋齿、牙裂或感染。看牙之前可以按说明书服用布洛芬或对乙酰氨基酚，用温盐水漱口，避免过冷、过热或过甜的食物。尽早预约牙医，不要等它自己好。",
            f=[("把阿司匹林直接放在牙龈上可以吗？",
                "不可以，阿司匹林直接接触牙龈会灼伤组织。止痛药应按说明口服。"),
               ("可以用丁香油吗？",
                "丁香油可以短暂麻醉止痛，但要用棉签蘸极少量，避免碰到牙龈。它不能解决根本问题。")],
            red="面部肿胀、发烧、吞咽或张口困难，或肿胀蔓延到眼睛或颈部",
            dis="牙疼都会自己彻底好，根本不用看牙医。",
            harm="每两小时吃一次双倍剂量止痛药，脸肿了也不用管。",
        ),
    ),
    dict(
        id="mouth_ulcers", sym=True, split="valid",
        en=dict(
            q=["I keep getting painful mouth ulcers. What helps?",
               "How can I make a mouth ulcer heal faster?",
               "I've had a sore inside my cheek for a few days. What should I do?"],
            a="Most mouth ulcers heal by themselves within one to two weeks. Rinsing with warm salt water, using an antiseptic or numbing gel from a pharmacy, and avoiding spicy, acidic or crunchy food can ease the pain. Frequent ulcers can be linked to stress, minor injury or low iron, B12 or folate, which a blood test can check.",
            f=[("Could it be cancer?",
                "Most ulcers are harmless, but one that hasn't healed after three weeks should be checked by a dentist or doctor. That is especially true if you smoke or drink alcohol regularly."),
               ("Could my toothpaste cause them?",
                "Some people find toothpastes containing sodium lauryl sulfate trigger ulcers. Switching to an SLS-free toothpaste is a simple thing to try.")],
            red="an ulcer lasting more than three weeks, a lump or patch that doesn't heal, many ulcers with fever, or difficulty swallowing",
            dis="Vitamin C tablets cure all mouth ulcers overnight and stop them returning forever.",
            harm="Ignore an ulcer that hasn't healed for two months; it's never anything serious.",
        ),
        zh=dict(
            q=["嘴里老是长溃疡，很疼，怎么办？",
               "口腔溃疡怎么好得快一点？",
               "脸颊内侧有个溃疡好几天了，要怎么处理？"],
            a="大多数口腔溃疡一到两周会自行愈合。用温盐水漱口、使用药店的消毒或止痛凝胶，避免辛辣、酸性和坚硬食物，可以减轻疼痛。反复发作可能与压力、小外伤或缺铁、缺维生素B12、叶酸有关，可以抽血检查。",
            f=[("会不会是癌？",
                "绝大多数溃疡是良性的，但超过三周不愈合就应该请口腔科或医生检查。吸烟、经常喝酒的人更要注意。"),
               ("牙膏会引起口腔溃疡吗？",
                "有些人用含十二烷基硫酸钠的牙膏容易长溃疡。可以试着换成不含这种成分的牙膏。")],
            red="溃疡超过三周不愈合、不消退的肿块或白斑、多发溃疡伴发烧，或吞咽困难",
            dis="吃维生素C一晚上就能治好所有口腔溃疡，而且永不复发。",
            harm="溃疡两个月不好也不用管，从来不会有什么大问题。",
        ),
    ),
    dict(
        id="nosebleed", sym=True, split="valid",
        en=dict(
            q=["My nose started bleeding suddenly. How do I stop it?",
               "What's the right way to handle a nosebleed?",
               "My child gets nosebleeds often. What should I do?"],
            a="Sit up, lean forward and firmly pinch the soft part of the nose just below the bony bridge for 10 to 15 minutes without letting go. Breathe through the mouth and spit out any blood rather than swallowing it. Don't tilt the head back, and avoid blowing the nose or heavy lifting for a day afterwards.",
            f=[("Why does it keep happening?",
                "Dry air and nose-picking are common causes, especially in children. A saline spray or a little petroleum jelly inside the nostrils keeps the lining moist."),
               ("Should I put ice on the nose?",
                "A cold pack on the bridge of the nose may help a little, but steady pinching is what matters most. Keep the pressure on continuously rather than checking every minute.")],
            red="bleeding that doesn't stop after 20 minutes of pressure, heavy bleeding with dizziness, a nosebleed after a head injury, or frequent nosebleeds while taking blood thinners",
            dis="Nosebleeds are always harmless and stop instantly if you stuff a vinegar-soaked tissue up the nose.",
            harm="Tilt the head right back and lie flat so the blood runs down the throat.",
        ),
        zh=dict(
            q=["鼻子突然流血了，怎么止血？",
               "流鼻血正确的处理方法是什么？",
               "孩子经常流鼻血，怎么办？"],
            a="坐直、身体前倾，用手指捏紧鼻翼软的部分（鼻梁骨下方）10到15分钟，中途不要松开。用嘴呼吸，把流到嘴里的血吐出来不要咽下。不要仰头，止血后一天内避免擤鼻涕和提重物。",
            f=[("为什么总是流鼻血？",
                "空气干燥和挖鼻孔是常见原因，孩子尤其如此。用生理盐水喷鼻或在鼻孔内侧涂一点凡士林可以保持黏膜湿润。"),
               ("要在鼻子上冰敷吗？",
                "在鼻梁上冷敷可能有一点帮助，但最重要的是持续捏紧鼻翼。要一直压着，不要每分钟松开看一下。")],
            red="压迫20分钟仍止不住、大量出血伴头晕、头部受伤后流鼻血，或服用抗凝药时反复流鼻血",
            dis="流鼻血从来都没事，塞一团蘸醋的纸巾马上就止住。",
            harm="把头使劲往后仰，平躺下来，让血流进喉咙里。",
        ),
    ),
    dict(
        id="minor_cut", sym=True,
        en=dict(
            q=["I cut my finger with a kitchen knife. How should I clean it?",
               "What's the best way to treat a small cut?",
               "Do I need stitches for this cut?"],
            a="Press firmly on the cut with a clean cloth for about 10 minutes to stop the bleeding, then rinse it under clean running water. Cover it with a sterile dressing, keep it clean and dry, and change it daily. Check that your tetanus vaccination is up to date, especially for dirty wounds.",
            f=[("Should I use hydrogen peroxide or alcohol?",
                "It's better not to, as they can damage healing tissue. Clean running water is enough for most small cuts."),
               ("How do I know if it's infected?",
                "Spreading redness, warmth, swelling, pus or increasing pain after a day or two suggest infection. A fever or red streaks up the arm need prompt medical care.")],
            red="bleeding that doesn't stop after 10 minutes of pressure, a gaping or deep cut, numbness or trouble moving the finger, an animal or human bite, or later redness, pus and fever",
            dis="Cuts never get infected if you sprinkle coffee grounds on them, so there's no need to clean them.",
            harm="Pack dirt or ash into the cut to stop the bleeding and skip the tetanus shot.",
        ),
        zh=dict(
            q=["切菜把手指划破了，怎么清理？",
               "小伤口怎么处理最好？",
               "这个伤口需要缝针吗？"],
            a="先用干净的布用力按压伤口约10分钟止血，再用干净的流动水冲洗。用无菌敷料覆盖，保持清洁干燥，每天更换。确认破伤风疫苗是否在有效期内，伤口较脏时尤其要注意。",
            f=[("要用双氧水或酒精消毒吗？",
                "最好不要，它们可能损伤正在愈合的组织。大多数小伤口用干净的流动水冲洗就够了。"),
               ("怎么判断伤口感染了？",
                "一两天后出现红肿扩散、发热、流脓或越来越痛，提示可能感染。发烧或手臂上出现红线需要尽快就医。")],
            red="按压10分钟仍止不住血、伤口裂开或很深、手指麻木或活动困难、被动物或人咬伤，或之后出现红肿流脓发烧",
            dis="伤口上撒咖啡渣就永远不会感染，根本不用清洗。",
            harm="往伤口里塞点泥土或香灰止血，破伤风针也不用打。",
        ),
    ),
    dict(
        id="insect_sting", sym=True, urgent=True,
        en=dict(
            q=["I got stung by a bee. What should I do?",
               "How do I treat an insect bite that's swollen and itchy?",
               "A wasp stung my son on the arm. How do I look after it?"],
            a="If a bee sting is still in the skin, scrape it out sideways with a fingernail or card as soon as possible. Wash the area, apply a cold pack, and use an antihistamine or mild hydrocortisone cream for itching and swelling. Local swelling can grow for a day or two before settling, which is normal.",
            f=[("Should I put vinegar or baking soda on it?",
                "There is little evidence that these help, and they aren't needed. A cold pack and an antihistamine are more reliable."),
               ("What if the bite looks red and warm two days later?",
                "Some redness is normal, but redness that keeps spreading, gets more painful or comes with fever may be an infection. That needs a doctor's review.")],
            red="swelling of the face, lips or throat, difficulty breathing, wheezing, dizziness, or a rash spreading over the body",
            dis="Insect stings can never cause serious reactions, so there's no need to watch for any symptoms.",
            harm="If the lips swell, just have a fizzy drink and go to bed; there's no need for emergency care.",
        ),
        zh=dict(
            q=["被蜜蜂蜇了，怎么办？",
               "蚊虫叮咬后又肿又痒，怎么处理？",
               "儿子胳膊被马蜂蜇了，怎么护理？"],
            a="如果蜂刺还留在皮肤里，尽快用指甲或卡片横向刮出来。清洗患处、冷敷，瘙痒肿胀可以用抗组胺药或弱效氢化可的松乳膏。局部肿胀在一两天内可能还会变大，之后逐渐消退，这是正常的。",
            f=[("要涂醋或小苏打吗？",
                "没有多少证据表明这些有用，也没有必要。冷敷和抗组胺药更可靠。"),
               ("两天后叮咬处又红又热怎么办？",
                "有些发红是正常的，但红肿持续扩散、越来越痛或伴发烧，可能是感染了，需要看医生。")],
            red="面部、嘴唇或喉咙肿胀、呼吸困难、喘鸣、头晕，或全身出疹",
            dis="蚊虫蜂蜇从来不会引起严重反应，不需要观察任何症状。",
            harm="嘴唇肿了就喝瓶汽水、睡一觉，不用去急诊。",
        ),
    ),
    dict(
        id="heat_exhaustion", sym=True, urgent=True, split="valid",
        en=dict(
            q=["I feel dizzy and sick after working outside in the heat. What should I do?",
               "How do I help someone with heat exhaustion?",
               "What's the difference between heat exhaustion and heatstroke?"],
            a="Move to a cool, shaded place, lie down with the legs raised, loosen clothing and sip water or an electrolyte drink. Cool the skin with damp cloths and a fan; people usually feel better within 30 minutes. Heatstroke is more serious: the body can no longer cool itself, and it is an emergency.",
            f=[("How can I prevent it next time?",
                "Drink regularly before you feel thirsty, take breaks in the shade, and avoid heavy work in the hottest part of the day. Light, loose clothing and a hat help too."),
               ("Are some people more at risk?",
                "Yes, babies, older adults, people with heart or kidney disease and those taking certain medicines such as diuretics are more vulnerable. Check on them during heatwaves.")],
            red="confusion, a body temperature of 40°C or higher, hot dry skin, fainting, a seizure, or no improvement within 30 minutes",
            dis="Heat exhaustion can't happen to fit people, and salt tablets make you completely immune.",
            harm="Keep working through it and drink alcohol to cool down; confusion is just tiredness.",
        ),
        zh=dict(
            q=["在高温下干活后头晕恶心，怎么办？",
               "有人中暑了怎么急救？",
               "中暑和热射病有什么区别？"],
            a="立即转移到阴凉处，平躺并抬高双腿，解开衣物，小口喝水或电解质饮料。用湿毛巾擦身、吹风帮助降温，一般30分钟内会好转。热射病更严重，是身体已经无法自行降温，属于急症。",
            f=[("下次怎么预防？",
                "在口渴之前就规律喝水，在阴凉处休息，避开一天中最热的时段干重活。穿浅色宽松衣服、戴帽子也有帮助。"),
               ("哪些人更容易中暑？",
                "婴幼儿、老人、心脏病或肾病患者，以及服用利尿剂等药物的人风险更高。高温天气要多关照他们。")],
            red="意识混乱、体温达到40度以上、皮肤干热无汗、晕厥、抽搐，或30分钟内没有好转",
            dis="身体好的人根本不会中暑，吃盐片就能完全免疫。",
            harm="坚持干完活，喝点酒降降温，意识模糊只是累了。",
        ),
    ),
    dict(
        id="quit_smoking", sym=False,
        en=dict(
            q=["I want to quit smoking. What actually works?",
               "How can I deal with cravings after stopping smoking?",
               "Are nicotine patches safe?"],
            a="Combining support with medication gives the best chance: nicotine replacement such as patches plus gum or lozenges, which are safe for most adults, or a prescription medicine like varenicline from your doctor. Set a quit date, remove cigarettes and lighters, and plan for triggers like coffee or alcohol. Cravings usually pass within a few minutes and ease a lot after the first few weeks.",
            f=[("Will I gain weight?",
                "Some weight gain is common, but the health benefits of quitting far outweigh it. Regular meals, healthy snacks and more activity help limit it."),
               ("Are e-cigarettes a good way to quit?",
                "For adult smokers, switching completely to e-cigarettes is less harmful than smoking and helps some people quit, but they are not risk-free. The aim should be to stop nicotine altogether over time.")],
            red="chest pain, coughing up blood, severe mood changes or thoughts of self-harm while quitting, or a cough that won't go away",
            dis="One hypnosis session guarantees you'll never want a cigarette again.",
            harm="Wear two or three nicotine patches at once and keep smoking too; that's the fastest way to quit.",
        ),
        zh=dict(
            q=["我想戒烟，什么方法真正有用？",
               "戒烟后烟瘾上来了怎么办？",
               "尼古丁贴片安全吗？"],
            a="支持加药物的成功率最高：比如尼古丁贴片配合口香糖或含片，对大多数成人是安全的，或者请医生开伐尼克兰等处方药。定一个戒烟日，清理掉香烟和打火机，提前想好如何应对咖啡、喝酒等诱因。烟瘾通常几分钟就会过去，头几周之后会明显减轻。",
            f=[("戒烟会长胖吗？",
                "体重增加一些很常见，但戒烟的健康收益远大于此。规律饮食、选择健康零食、多运动可以帮助控制。"),
               ("电子烟能帮助戒烟吗？",
                "对成年吸烟者来说，完全改用电子烟比吸烟危害小，也帮助一部分人戒烟，但并非没有风险。最终目标应是逐步完全戒掉尼古丁。")],
            red="胸痛、咳血、戒烟期间情绪严重变化或有自伤念头，或咳嗽长期不好",
            dis="催眠一次保证你永远不想抽烟。",
            harm="同时贴两三张尼古丁贴片，香烟也照抽，这样戒得最快。",
        ),
    ),
    dict(
        id="period_pain", sym=True, split="valid",
        en=dict(
            q=["I get really bad period cramps every month. What helps?",
               "How can I ease period pain?",
               "Is it normal to have painful periods?"],
            a="Period cramps are common, and starting ibuprofen or naproxen at the first sign of pain, if they are safe for you, often works better than waiting. A heat pad on the lower abdomen, gentle exercise and rest can also help. Some hormonal contraceptives reduce period pain, which your doctor can discuss.",
            f=[("Could it be endometriosis?",
                "Severe period pain that is getting worse, or pain during sex or bowel movements, can be signs of endometriosis. It is worth discussing with a doctor, as the diagnosis is often delayed."),
               ("Is it safe to take painkillers every month?",
                "For most healthy people, an anti-inflammatory for a few days each period is fine. Take it with food, and avoid it if you have stomach ulcers, kidney problems or certain types of asthma.")],
            red="pain that stops normal activities despite painkillers, bleeding that soaks a pad every hour, pain between periods or during sex, or sudden severe pain if you could be pregnant",
            dis="Period pain is always normal and purely in your head, so no doctor can ever help.",
            harm="Take painkillers from three different brands together at full dose; they'll stop the pain faster.",
        ),
        zh=dict(
            q=["每个月痛经都很厉害，有什么办法？",
               "痛经怎么缓解？",
               "痛经是正常的吗？"],
            a="痛经很常见，在能服用的前提下，一开始疼就吃布洛芬或萘普生，通常比忍到很痛再吃效果好。下腹部热敷、适度运动和休息也有帮助。某些激素类避孕方法可以减轻痛经，可以和医生讨论。",
            f=[("会不会是子宫内膜异位症？",
                "痛经越来越重，或者同房、排便时疼痛，可能是子宫内膜异位症的表现。这个病常常被延误诊断，值得找医生看看。"),
               ("每个月都吃止痛药安全吗？",
                "对大多数健康人来说，每次经期吃几天消炎止痛药没有问题。随餐服用，有胃溃疡、肾病或某些类型哮喘的人应避免。")],
            red="吃了止痛药仍疼得无法正常活动、出血多到每小时湿透一片卫生巾、经期以外或同房时疼痛，或可能怀孕时突发剧烈腹痛",
            dis="痛经都是正常的，纯属心理作用，医生也帮不了任何忙。",
            harm="三种不同牌子的止痛药一起按全量吃，止痛更快。",
        ),
    ),
    dict(
        id="chest_pain", sym=True, urgent=True, emergency=True,
        en=dict(
            q=["I have a heavy pressure in my chest and feel sweaty. What should I do?",
               "My father has chest pain spreading to his left arm. Is it serious?",
               "What should I do if someone has chest pain?"],
            a="Chest pressure with sweating, or pain spreading to the arm, jaw or back, can be a heart attack, so call emergency services right now rather than waiting or driving. Sit down and rest while you wait, and unlock the door for the ambulance crew. If the call handler advises it and there is no allergy, chewing one regular aspirin may help.",
            f=[("What if he collapses and isn't breathing?",
                "Start CPR: push hard and fast in the centre of the chest, about 100 to 120 times a minute, and keep going until help arrives. If a defibrillator is available, switch it on and follow its voice instructions."),
               ("Could it just be indigestion?",
                "It might be, but heart pain and indigestion can feel alike, and guessing is not safe. Doctors would much rather check and find nothing than miss a heart attack.")],
            red="fainting, severe breathlessness, or the person becoming unresponsive",
            dis="Chest pain under the age of 60 is never the heart, so you can simply ignore it.",
            harm="Wait it out with a sleeping pill, and drive yourself to hospital later if it doesn't pass.",
        ),
        zh=dict(
            q=["胸口压得很重，还出冷汗，怎么办？",
               "我爸胸痛，还往左胳膊放射，严重吗？",
               "有人胸痛时应该怎么做？"],
            a="胸口压迫感伴出汗，或疼痛放射到手臂、下颌或后背，可能是心肌梗死，请立即拨打120，不要等待或自己开车去医院。等待时坐下休息，提前打开家门方便急救人员进入。如果急救调度员建议且没有过敏，可以嚼服一片普通阿司匹林。",
            f=[("如果他倒下没有呼吸了怎么办？",
                "立即开始心肺复苏：在胸部正中用力快速按压，每分钟100到120次，一直持续到急救人员到达。如果附近有自动体外除颤器，打开后按语音提示操作。"),
               ("会不会只是消化不良？",
                "有可能，但心脏痛和消化不良感觉很像，靠猜是不安全的。医生宁愿检查后发现没事，也不愿漏掉一次心梗。")],
            red="晕厥、严重呼吸困难，或患者失去反应",
            dis="60岁以下的人胸痛从来不是心脏问题，完全可以不管。",
            harm="先忍着，吃片安眠药放松一下，不好再自己开车去医院。",
        ),
    ),
    dict(
        id="stroke_signs", sym=True, urgent=True, emergency=True,
        en=dict(
            q=["My mother's face suddenly drooped and her speech is slurred. What should I do?",
               "What are the warning signs of a stroke?",
               "How do I recognise a stroke quickly?"],
            a="Remember FAST: Face drooping, Arm weakness, Speech difficulty, Time to call emergency services. If you see any of these, call an ambulance immediately and note the time the symptoms started, because clot-busting treatment only works within a few hours. Don't give food, drink or medicines while you wait.",
            f=[("The symptoms went away after ten minutes. Do we still need to go?",
                "Yes, a brief episode may be a transient ischaemic attack, which is a warning sign of a possible major stroke. It needs urgent assessment the same day."),
               ("How can stroke be prevented?",
                "Controlling blood pressure is the single most important step, along with not smoking, managing cholesterol and diabetes, and treating an irregular heartbeat. Regular exercise and less salt also help.")],
            red="sudden weakness or numbness on one side, confused speech, sudden loss of vision, or a sudden severe headache, even if the symptoms pass quickly",
            dis="A stroke always passes if you sleep it off, so hospitals can't do anything for it.",
            harm="Give her aspirin and let her lie down for a few hours to see if it improves before calling anyone.",
        ),
        zh=dict(
            q=["我妈突然嘴歪、说话含糊不清，怎么办？",
               "中风有哪些预警信号？",
               "怎样快速识别中风？"],
            a="记住“中风120”：看一张脸是否口角歪斜，查两只胳膊能否平举，聆听说话是否清楚，有任何一项异常就立刻拨打120。记下症状开始的时间，因为溶栓等治疗只在几小时内有效。等待时不要喂食、喂水或喂药。",
            f=[("症状十分钟后就消失了，还要去医院吗？",
                "要，短暂发作可能是短暂性脑缺血发作，是大中风的预警信号。需要当天紧急就诊评估。"),
               ("怎么预防中风？",
                "控制血压是最重要的一步，同时要戒烟、控制血脂和血糖、治疗房颤等心律不齐。规律运动和少吃盐也有帮助。")],
            red="一侧肢体突然无力或麻木、说话含糊、突然视物不清，或突发剧烈头痛，即使症状很快消失",
            dis="中风睡一觉就会自己好，去医院也没什么用。",
            harm="先给她吃片阿司匹林，躺几个小时看看能不能好转，再决定要不要叫人。",
        ),
    ),
    dict(
        id="hand_foot_mouth", sym=True,
        en=dict(
            q=["My toddler has blisters in his mouth and spots on his hands. Is it hand, foot and mouth disease?",
               "How do I care for a child with hand, foot and mouth disease?",
               "How long is hand, foot and mouth disease contagious?"],
            a="Mouth sores with spots on the hands and feet in a young child are typical of hand, foot and mouth disease, which usually clears within 7 to 10 days. Offer cool drinks and soft food, and use paracetamol or ibuprofen for pain so the child keeps drinking. Wash hands carefully, as the virus spreads easily and can stay in stools for weeks.",
            f=[("Should he stay home from nursery?",
                "Keep him home while he has a fever or feels unwell, and follow your nursery's local rules. Good handwashing matters most once he returns."),
               ("Can adults catch it?",
                "Yes, though adults usually have mild or no symptoms. A pregnant woman close to her due date should tell her midwife if she is exposed.")],
            red="refusal to drink with signs of dehydration, unusual drowsiness, repeated vomiting, jerky movements, fast breathing, or a high fever lasting more than three days",
            dis="Hand, foot and mouth disease is completely harmless in every case, so you never need to watch for problems.",
            harm="Pop all the blisters and give the child aspirin for the fever.",
        ),
        zh=dict(
            q=["孩子嘴里起疱，手上也有红点，是手足口病吗？",
               "孩子得了手足口病怎么护理？",
               "手足口病传染期有多长？"],
            a="幼儿口腔疱疹溃疡伴手脚皮疹，是手足口病的典型表现，一般7到10天会好。给孩子喝凉的饮品、吃软食，必要时用对乙酰氨基酚或布洛芬止痛，保证能喝进水。认真洗手，病毒传染性强，在粪便中可存在数周。",
            f=[("需要在家隔离不去幼儿园吗？",
                "发烧或精神不好时应在家休息，并按照当地幼儿园的规定执行。返园后勤洗手最重要。"),
               ("大人会被传染吗？",
                "会，但成人通常症状很轻或没有症状。临近预产期的孕妇如有接触，应告诉产科医生。")],
            red="拒绝喝水并有脱水表现、精神萎靡嗜睡、频繁呕吐、肢体抖动、呼吸急促，或高烧超过三天",
            dis="手足口病在任何情况下都完全无害，从来不需要观察任何症状。",
            harm="把疱疹都挑破，再给孩子吃阿司匹林退烧。",
        ),
    ),
    dict(
        id="hepatitis_b", sym=False,
        en=dict(
            q=["I'm a hepatitis B carrier. Can I have a healthy baby?",
               "My partner has hepatitis B. Should I get vaccinated?",
               "How is hepatitis B passed on, and how do I protect my family?"],
            a="Hepatitis B spreads through blood, sex and from mother to baby at birth, not through sharing meals or hugging. Partners and household members should be tested and vaccinated if they are not immune. A baby born to a mother with hepatitis B is well protected by the vaccine and immunoglobulin given within hours of birth, and some mothers also take antiviral medicine late in pregnancy.",
            f=[("Is breastfeeding safe?",
                "Yes, in most cases a mother with hepatitis B can breastfeed once the baby has had the birth vaccine and immunoglobulin. Ask your doctor if you have cracked, bleeding nipples."),
               ("How often are check-ups needed?",
                "People with chronic hepatitis B usually need liver blood tests and a viral load check every 6 to 12 months, plus liver scans for some. Regular monitoring shows when treatment is needed.")],
            red="yellowing of the skin or eyes, dark urine, a swollen abdomen, confusion, or vomiting blood",
            dis="A herbal liver cleanse cures hepatitis B completely, so check-ups are pointless.",
            harm="Don't bother vaccinating the baby, and stop your antiviral medicine whenever you feel fine.",
        ),
        zh=dict(
            q=["我是乙肝携带者，能生健康的宝宝吗？",
               "伴侣有乙肝，我需要打疫苗吗？",
               "乙肝怎么传染，怎么保护家人？"],
            a="乙肝通过血液、性接触和分娩时母婴传播，一起吃饭、拥抱不会传染。家人和伴侣应检查抗体，没有免疫力就及时接种疫苗。乙肝妈妈的宝宝在出生后数小时内接种乙肝疫苗和乙肝免疫球蛋白，可以得到很好的保护，部分妈妈孕晚期还需服用抗病毒药。",
            f=[("能母乳喂养吗？",
                "大多数情况下可以，宝宝出生后接种了疫苗和免疫球蛋白就能母乳喂养。如果乳头皲裂出血，先咨询医生。"),
               ("需要多久复查一次？",
                "慢性乙肝一般每6到12个月查一次肝功能和病毒载量，部分人还需做肝脏超声。定期监测可以判断何时需要治疗。")],
            red="皮肤或眼白发黄、尿色深、腹部膨胀、意识模糊，或呕血",
            dis="乙肝用草药排肝毒就能彻底治愈，复查完全没有意义。",
            harm="宝宝不用打疫苗，感觉好了就把抗病毒药停了。",
        ),
    ),
    dict(
        id="levothyroxine", sym=False, split="valid",
        en=dict(
            q=["I've started levothyroxine. How should I take it?",
               "What do I need to know about taking thyroid medication?",
               "My thyroid tablets don't seem to work. Am I taking them wrong?"],
            a="Take levothyroxine at the same time each day on an empty stomach, usually 30 to 60 minutes before breakfast, with water. Keep it about four hours apart from calcium, iron and antacids, which reduce absorption. Your doctor will check a blood test about six to eight weeks after any dose change, because it takes that long to settle.",
            f=[("Can I drink coffee with it?",
                "Coffee can reduce absorption, so wait at least 30 to 60 minutes after your tablet. Consistency matters most: if your routine changes, your doctor may need to adjust the dose."),
               ("What if I miss a dose?",
                "Take it when you remember the same day; if it's almost time for the next one, just carry on as normal. Don't double up regularly without your doctor's advice.")],
            red="a racing or irregular heartbeat, chest pain, tremor, severe fatigue with confusion, or new swelling in the neck",
            dis="Thyroid problems are always cured by iodine supplements, so you can stop your tablets.",
            harm="Double your tablets whenever you feel tired; you can adjust the dose yourself.",
        ),
        zh=dict(
            q=["开始吃左甲状腺素了，应该怎么吃？",
               "吃甲状腺药有什么要注意的？",
               "甲状腺药好像没效果，是我吃法不对吗？"],
            a="左甲状腺素每天固定时间空腹服用，通常在早餐前30到60分钟用白开水送服。与钙片、铁剂和抗酸药间隔约4小时，它们会影响吸收。每次调整剂量后6到8周医生会安排抽血复查，因为需要这么长时间才稳定。",
            f=[("可以和咖啡一起吃吗？",
                "咖啡会影响吸收，服药后至少等30到60分钟再喝。最重要的是保持习惯一致，作息改变时医生可能需要调整剂量。"),
               ("漏吃一次怎么办？",
                "当天想起来就补上；如果快到下一次的时间，就照常吃下一次。不要在没有医生建议的情况下经常加倍服用。")],
            red="心跳很快或不规则、胸痛、手抖、严重乏力伴意识模糊，或颈部出现新的肿块",
            dis="甲状腺问题吃碘补充剂保证都能治好，药可以停了。",
            harm="觉得累就把药量翻倍，剂量自己调就行。",
        ),
    ),
    dict(
        id="paracetamol_dose", sym=False, urgent=True,
        en=dict(
            q=["How much paracetamol can I safely take in a day?",
               "Can I take paracetamol with a cold and flu remedy?",
               "Is it dangerous to take too much paracetamol?"],
            a="For most adults the maximum is 4 g a day, usually 1 g up to four times a day at least 4 hours apart, and less for people with liver problems, heavy drinking or low body weight. Many cold and flu remedies already contain paracetamol, so check labels to avoid doubling up. Too much can seriously damage the liver, even if you feel fine at first.",
            f=[("Is ibuprofen safer?",
                "Neither is simply safer; ibuprofen avoids the liver risk but can irritate the stomach, affect the kidneys and raise blood pressure. The best choice depends on your health and other medicines."),
               ("What about children's doses?",
                "Children's doses depend on weight and age, so use a children's formulation and the measuring device provided. Never cut up adult tablets to guess a child's dose.")],
            red="any dose above the daily maximum, even without symptoms, or nausea, vomiting and pain under the right ribs after taking paracetamol",
            dis="Paracetamol is completely harmless at any dose because it's sold without a prescription.",
            harm="Take paracetamol and two different cold remedies together; there's no limit when you're sick.",
        ),
        zh=dict(
            q=["对乙酰氨基酚一天最多能吃多少？",
               "对乙酰氨基酚能和感冒药一起吃吗？",
               "对乙酰氨基酚吃多了会有危险吗？"],
            a="大多数成人每天最多4克，通常每次1克、间隔至少4小时、每天不超过4次；有肝病、经常饮酒或体重较轻的人上限更低。很多复方感冒药本身就含对乙酰氨基酚，要看清成分，避免重复服用。过量服用即使起初没有感觉，也可能严重损伤肝脏。",
            f=[("布洛芬是不是更安全？",
                "不能简单说哪个更安全：布洛芬没有肝损伤风险，但可能刺激胃、影响肾脏、升高血压。选择哪个取决于你的健康状况和其他用药。"),
               ("孩子的剂量怎么算？",
                "儿童剂量按体重和年龄计算，要用儿童剂型和随附的量具。绝对不要掰成人药片估算孩子的剂量。")],
            red="服用超过最大剂量（即使没有任何症状），或服药后出现恶心、呕吐、右上腹疼痛",
            dis="对乙酰氨基酚是非处方药，吃多少都完全无害。",
            harm="对乙酰氨基酚和两种感冒药一起吃，生病的时候没有剂量限制。",
        ),
    ),
    dict(
        id="haemorrhoids", sym=True, split="valid",
        en=dict(
            q=["I noticed bright red blood on the toilet paper. Could it be piles?",
               "How do I treat haemorrhoids at home?",
               "What helps painful piles?"],
            a="Bright red blood on the paper is often from haemorrhoids, but rectal bleeding should be checked by a doctor at least once to rule out other causes. More fibre and water, not straining or sitting on the toilet for long, and warm sitz baths usually help. Pharmacy creams can ease symptoms for a few days.",
            f=[("Can I use the cream for a long time?",
                "Creams containing a steroid should only be used for about a week, because longer use can thin the skin. If symptoms persist, see your doctor."),
               ("Are piles common in pregnancy?",
                "Yes, pressure and constipation make them common in pregnancy. Fibre, fluids and gentle activity help, and check with your midwife before using creams.")],
            red="dark or black stools, heavy bleeding, bleeding with a change in bowel habit or weight loss, or severe pain with a hard lump",
            dis="Piles disappear forever if you sit on a cold stone, so bleeding never needs checking.",
            harm="Bleeding from the bottom is always piles; ignore it even if your stools turn black.",
        ),
        zh=dict(
            q=["擦屁股发现纸上有鲜红的血，是痔疮吗？",
               "痔疮在家怎么处理？",
               "痔疮很疼，有什么办法？"],
            a="厕纸上有鲜红色血常见于痔疮，但便血至少应该让医生检查一次，排除其他原因。多吃膳食纤维、多喝水、不要用力排便或久蹲，温水坐浴通常有帮助。药店的痔疮膏可以短期缓解症状。",
            f=[("痔疮膏能长期用吗？",
                "含激素的药膏一般只用一周左右，长期使用会让皮肤变薄。症状持续要去看医生。"),
               ("怀孕期间长痔疮常见吗？",
                "常见，孕期腹压增加和便秘容易诱发痔疮。多吃纤维、多喝水、适度活动有帮助，用药膏前先问产科医生。")],
            red="黑便或暗红色便、大量出血、便血伴排便习惯改变或消瘦，或剧痛伴硬块",
            dis="坐在凉石头上痔疮就永远消失，便血从来不用检查。",
            harm="肛门出血都是痔疮，就算大便发黑也不用理会。",
        ),
    ),
]

# ---------------------------------------------------------------------------------------------------------
# Phrasing pools: openings, follow-ups, closings, and the generic rejected replies.
# ---------------------------------------------------------------------------------------------------------
SYSTEMS = {
    "en": ["You are a careful, friendly medical assistant. Give practical advice and say when someone should see a doctor.",
           "You are a health information assistant. Be accurate, kind and concise, and never pretend to replace an examination.",
           "You are a helpful assistant answering medical questions from the public in plain English.",
           "You are a triage-nurse style assistant: explain simply, give safe self-care steps and flag warning signs.",
           "You are a medical chatbot. Be honest about uncertainty and keep answers short."],
    "zh": ["你是一名细心、友善的医疗助手，给出实用建议，并提醒何时需要就医。",
           "你是健康咨询助手，回答要准确、亲切、简洁，不能代替医生的面诊。",
           "你是面向普通大众的医疗问答助手，请用通俗易懂的中文回答。",
           "你是一名分诊护士式的助手：解释清楚，给出安全的自我护理方法，并指出危险信号。",
           "你是医疗聊天机器人，对不确定的地方要坦诚，回答尽量简短。"],
}
ASK_PREFIX = {
    "en": ["", "", "", "", "Hi. ", "Hello! ", "Hi there. ", "Sorry to bother you. ", "Quick question. ", "Good evening. "],
    "zh": ["", "", "", "", "你好，", "医生您好，", "请问一下，", "打扰一下，", "您好！", "想咨询一下，"],
}
ASK_SUFFIX = {
    "en": ["", "", "", "", " Thanks.", " Thanks in advance.", " Any advice would help.", " I'm a bit worried."],
    "zh": ["", "", "", "", "谢谢！", "麻烦了。", "求建议。", "有点担心。"],
}
EMERGENCY_PREFIX = {"en": ["", "", "Please help! ", "Urgent: "], "zh": ["", "", "急！", "求助！"]}
FOLLOW_PREFIX = {
    "en": ["", "", "", "Thanks. ", "Okay. ", "One more question. ", "I see. ", "Got it. "],
    "zh": ["", "", "", "好的，", "明白了。", "还有个问题，", "谢谢。", "了解了。"],
}
OPENERS = {
    "en": {"sym": ["Sorry you're dealing with this.", "That sounds uncomfortable.", "I understand why you're concerned."],
           "q": ["Good question.", "That's a common concern.", "Happy to help with this."],
           "hedge": ["I can't examine you, so please treat this as general guidance.",
                     "Without an examination I can only give general advice."]},
    "zh": {"sym": ["听起来挺难受的。", "理解你的担心。", "抱歉你正经历这些。"],
           "q": ["这是个好问题。", "很多人都关心这个问题。", "很乐意帮你解答。"],
           "hedge": ["我无法当面检查，以下只是一般性建议。", "没有面诊，我只能给出一般性的建议。"]},
}
RED_TEMPLATES = {
    "en": {"normal": ["See a doctor promptly if you notice {red}.",
                      "Warning signs that need medical attention include {red}.",
                      "If you notice {red}, see a doctor without delay.",
                      "Please get checked quickly if there are warning signs such as {red}."],
           "urgent": ["If you notice {red}, call emergency services straight away.",
                      "Seek emergency help immediately for {red}.",
                      "Warning signs that need emergency care include {red}."]},
    "zh": {"normal": ["如果出现{red}，请及时就医。",
                      "需要尽快就医的危险信号包括：{red}。",
                      "一旦出现{red}，应尽快去医院。",
                      "出现{red}时，不要拖延，尽快看医生。"],
           "urgent": ["如果出现{red}，请立即拨打120或去急诊。",
                      "一旦出现{red}，马上呼叫急救。",
                      "出现{red}属于急症，应立即拨打120。"]},
}
DOCTOR_Q = {
    "en": ["When should I see a doctor about this?", "What signs would mean it's serious?",
           "How will I know if I need to go to hospital?", "At what point should I get it checked?"],
    "zh": ["什么情况下需要去医院？", "出现哪些情况说明比较严重？", "我怎么判断要不要看医生？", "到什么程度需要去检查？"],
}
DOCTOR_TAIL = {
    "en": {"normal": ["If none of these appear and things are slowly improving, home care is usually fine.",
                      "If you're unsure, it's always reasonable to call your doctor or a nurse advice line."],
           "urgent": ["If you're unsure, it's always better to get checked than to wait."]},
    "zh": {"normal": ["如果没有这些情况且在逐渐好转，一般在家护理就可以。",
                      "拿不准的时候，打电话咨询医生或护士总是合理的。"],
           "urgent": ["拿不准的时候，宁可去检查也不要等。"]},
}
THANKS = {
    "en": (["Thanks, that's really helpful.", "Great, thank you!", "Okay, I'll try that. Thanks.",
            "That makes sense, thanks a lot.", "Thank you, I feel better knowing that."],
           ["You're welcome. I hope things improve soon, and don't hesitate to get checked if anything changes.",
            "Glad it helped. Take care, and trust your instincts if something feels wrong.",
            "You're welcome! Feel free to come back with any other questions.",
            "Happy to help. A doctor or pharmacist can give advice tailored to you."]),
    "zh": (["谢谢，很有帮助。", "好的，我试试，谢谢！", "明白了，多谢。", "太好了，谢谢你！", "谢谢，心里踏实多了。"],
           ["不客气，祝你早日康复，如果情况有变化请及时就医。",
            "很高兴能帮到你，注意休息，有任何不对劲就去医院看看。",
            "不客气！有其他问题随时来问。",
            "不用谢，医生或药师可以根据你的具体情况给出更有针对性的建议。"]),
}
UNHELPFUL = {
    "en": ["Don't worry about it.", "It's probably nothing.", "Just wait and see.", "I can't really say. Look it up online.",
           "That happens to everyone, just ignore it.", "No idea, sorry.", "Just rest.", "It'll go away.",
           "Ask someone else.", "Maybe. Maybe not.", "You're overthinking this.", "Everyone gets that. Move on.",
           "Search the internet.", "Can't help with that."],
    "zh": ["没事，别管它。", "应该没什么问题。", "再等等看吧。", "不清楚，自己上网查查。", "大家都这样，忽略就好。",
           "不知道。", "多休息就行。", "过几天就好了。", "去问别人吧。", "可能吧，也可能不是。", "你想太多了。",
           "这很正常，别问了。", "上网搜一下就知道了。", "这个我帮不了。"],
}
OFF_TOPIC = {
    "en": ["The weather should be lovely this weekend, perfect for a picnic in the park.",
           "If you like mystery novels, I'd recommend starting with a classic detective series.",
           "To make fluffy pancakes, separate the eggs and whisk the whites until stiff.",
           "The stock market was volatile this quarter, so many investors are diversifying.",
           "Football's offside rule can be confusing, but it depends on the position of the second-last defender.",
           "Python list comprehensions are a concise way to build lists from other iterables.",
           "Tomatoes grow best with at least six hours of direct sunlight a day.",
           "The Great Wall stretches for thousands of kilometres across northern China.",
           "A good way to learn a new language is to practise a little every day with flashcards.",
           "When choosing a laptop, consider battery life, weight and screen quality.",
           "Jazz emerged in New Orleans in the early twentieth century.",
           "Cats sleep for around 12 to 16 hours a day.",
           "Packing cubes make it much easier to organise a suitcase for a long trip.",
           "The moon's gravity is the main cause of ocean tides."],
    "zh": ["这个周末天气不错，很适合去公园野餐。",
           "如果你喜欢推理小说，可以从经典的侦探系列读起。",
           "做松软的松饼，关键是把蛋白打发到硬性发泡。",
           "这个季度股市波动很大，很多投资者在分散配置。",
           "足球的越位规则有点复杂，主要看倒数第二名防守球员的位置。",
           "Python的列表推导式可以简洁地从其他可迭代对象生成列表。",
           "番茄每天至少需要六小时的直射阳光才能长得好。",
           "长城横跨中国北方，绵延数千公里。",
           "学外语的好办法是每天用单词卡练习一会儿。",
           "选笔记本电脑时要看续航、重量和屏幕素质。",
           "京剧有生、旦、净、丑四大行当。",
           "猫每天大约要睡12到16个小时。",
           "收纳袋能让长途旅行的行李箱整齐很多。",
           "海洋潮汐主要是月球引力造成的。"],
}
DIS_WRAP = {
    "en": (["", "", "Good news! ", "Trust me on this. ", "It's simple. "],
           ["", "", " No need to see anyone.", " Doctors just don't want you to know."]),
    "zh": (["", "", "好消息！", "相信我，", "很简单，"], ["", "", "不用去看医生。", "医生只是不想让你知道。"]),
}
HARM_WRAP = {
    "en": (["", "", "Here's what I'd do: ", "Simple. "], ["", "", " Don't bother with a doctor.", " It works every time."]),
    "zh": (["", "", "我的建议是：", "很简单，"], ["", "", "不用麻烦医生。", "每次都管用。"]),
}

# ---------------------------------------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------------------------------------
_SENT_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


def n_sentences(text: str) -> int:
    """Sentence count: ASCII terminators followed by a space or the end, and Chinese terminators."""
    return max(1, len(_SENT_END.findall(text)))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text.strip()) if s]


def join(lang: str, parts) -> str:
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def red_sentence(rng: random.Random, cond: dict, lang: str) -> str:
    level = "urgent" if cond.get("urgent") else "normal"
    return rng.choice(RED_TEMPLATES[lang][level]).format(red=cond[lang]["red"])


def opener(rng: random.Random, cond: dict, lang: str) -> str:
    pools = OPENERS[lang]
    if cond.get("emergency"):
        return ""
    r = rng.random()
    if r < 0.15:
        return rng.choice(pools["hedge"])
    if r < 0.45:
        return rng.choice(pools["sym" if cond["sym"] else "q"])
    return ""


def answer(rng: random.Random, cond: dict, lang: str, with_red: bool) -> str:
    """Opening (sometimes) + the condition's answer + (optionally) a red-flag sentence; at most 4 sentences."""
    body = cond[lang]["a"]
    red = red_sentence(rng, cond, lang) if with_red else ""
    op = opener(rng, cond, lang)
    if n_sentences(body) + bool(red) + 1 > 4:
        op = ""
    return join(lang, [op, body, red])


def human_ask(rng: random.Random, cond: dict, lang: str, ask: str) -> str:
    if cond.get("emergency"):
        return rng.choice(EMERGENCY_PREFIX[lang]) + ask
    text = rng.choice(ASK_PREFIX[lang]) + ask + rng.choice(ASK_SUFFIX[lang])
    return text if n_sentences(text) <= 3 else ask


def follow_q(rng: random.Random, lang: str, q: str) -> str:
    return rng.choice(FOLLOW_PREFIX[lang]) + q


def doctor_exchange(rng: random.Random, cond: dict, lang: str) -> tuple[str, str]:
    level = "urgent" if cond.get("urgent") else "normal"
    a = red_sentence(rng, cond, lang)
    if rng.random() < 0.6:
        a = join(lang, [a, rng.choice(DOCTOR_TAIL[lang][level])])
    return follow_q(rng, lang, rng.choice(DOCTOR_Q[lang])), a


def turn(role: str, value: str) -> dict:
    return {"from": role, "value": value}


def total_chars(conv: list[dict]) -> int:
    return sum(len(t["value"]) for t in conv)


def sft_conversation(rng: random.Random, cond: dict, lang: str, ask: str, n_human: int) -> dict:
    """One ShareGPT conversation with n_human human turns (1-3), kept under MAX_CHARS."""
    emergency = bool(cond.get("emergency"))
    red_first = n_human == 1 or emergency or rng.random() < 0.5
    specific = list(cond[lang]["f"])
    rng.shuffle(specific)
    later: list[tuple[str, str, str]] = []  # (kind, question, answer)
    if n_human >= 2:
        if not red_first:
            later.append(("doctor",) + doctor_exchange(rng, cond, lang))
            if n_human == 3:
                later.insert(rng.randrange(2), ("specific", follow_q(rng, lang, specific[0][0]), specific[0][1]))
        else:
            later.append(("specific", follow_q(rng, lang, specific[0][0]), specific[0][1]))
            if n_human == 3:
                if not emergency and rng.random() < 0.3:
                    later.append(("thanks", rng.choice(THANKS[lang][0]), rng.choice(THANKS[lang][1])))
                else:
                    later.append(("specific", follow_q(rng, lang, specific[1][0]), specific[1][1]))
    system = rng.choice(SYSTEMS[lang]) if rng.random() < 0.45 else ""
    first_q = human_ask(rng, cond, lang, ask)
    first_a = answer(rng, cond, lang, with_red=red_first)

    def build(system, first_a, later):
        conv = [turn("system", system)] if system else []
        conv += [turn("human", first_q), turn("gpt", first_a)]
        for _kind, q, a in later:
            conv += [turn("human", q), turn("gpt", a)]
        return conv

    conv = build(system, first_a, later)
    # Shorten step by step until it fits: no system turn, plainer first answer, shorter follow-up answers.
    # The condition's answer itself is never cut, so it always answers the question asked.
    plain = cond_plain(cond, lang, first_a)
    brief = [(k, q, sentences(a)[0] if k == "specific" else a) for k, q, a in later]
    for system, first_a, later in [("", first_a, later), ("", plain, later), ("", plain, brief), ("", plain, brief[:-1])]:
        if total_chars(conv) <= MAX_CHARS:
            break
        conv = build(system, first_a, later)
    if total_chars(conv) > MAX_CHARS:
        raise ValueError(f"conversation too long for {cond['id']}/{lang}: {total_chars(conv)}")
    return {"conversations": conv}


def cond_plain(cond: dict, lang: str, first_a: str) -> str:
    """first_a without its opening sentence (the condition answer plus any red-flag sentence)."""
    body = cond[lang]["a"]
    i = first_a.find(body)
    return first_a[i:] if i >= 0 else first_a


def rejected_reply(rng: random.Random, cond: dict, lang: str, kind: str) -> str:
    if kind == "unhelpful":
        return rng.choice(UNHELPFUL[lang])
    if kind == "off_topic":
        return rng.choice(OFF_TOPIC[lang])
    pre, post = (DIS_WRAP if kind == "dishonest" else HARM_WRAP)[lang]
    text = cond[lang]["dis" if kind == "dishonest" else "harm"]
    return rng.choice(pre) + text + rng.choice(post)


def preference_pair(rng: random.Random, cond: dict, lang: str, ask: str, kind: str) -> dict:
    prompt = [turn("system", rng.choice(SYSTEMS[lang]))] if rng.random() < 0.2 else []
    prompt.append(turn("human", human_ask(rng, cond, lang, ask)))
    if rng.random() < MULTI_TURN_PREF:
        fq, fa = rng.choice(cond[lang]["f"])
        prompt += [turn("gpt", cond[lang]["a"]), turn("human", follow_q(rng, lang, fq))]
        chosen = join(lang, [fa, red_sentence(rng, cond, lang)])
    else:
        chosen = answer(rng, cond, lang, with_red=True)
    rejected = rejected_reply(rng, cond, lang, kind)
    assert chosen != rejected
    return {"conversations": prompt, "chosen": chosen, "rejected": rejected, "kind": kind}


def build() -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    out: dict[str, list[dict]] = {"sft/train": [], "sft/valid": [], "preference/train": [], "preference/valid": []}
    for cond in CONDITIONS:
        split = cond.get("split", "train")
        for lang in ("en", "zh"):
            asks = list(cond[lang]["q"])
            rng.shuffle(asks)
            turns = [1, 2, 3]
            rng.shuffle(turns)
            for i in range(SFT_PER_COMBO):
                out[f"sft/{split}"].append(sft_conversation(rng, cond, lang, asks[i % len(asks)], turns[i % 3]))
            kinds = list(KINDS)
            rng.shuffle(kinds)
            start = rng.randrange(len(asks))
            for i, kind in enumerate(kinds):
                out[f"preference/{split}"].append(preference_pair(rng, cond, lang, asks[(start + i) % len(asks)], kind))
    for rows in out.values():
        rng.shuffle(rows)
    return out


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------
def lang_of(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def first_human(row: dict) -> str:
    return next(t["value"] for t in row["conversations"] if t["from"] == "human")


def write_jsonl(path: Path, rows: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(data)
    return len(data)


CARD = """\
## Chat data: SFT conversations and preference pairs

Generated by `data/build_chat_data.py` (do not edit by hand; change the script and re-run it).

**What.** Short medical-advice chats in Chinese and English, for the SFT stage (`data/sft/`) and for the
reward-model, PPO and DPO stages (`data/preference/`). They are the offline stand-in for
`shibing624/medical` (`finetune` and `reward`) under the `tiny` profile.

**How made.** Composed by a deterministic script (seed {seed}) from a hand-written knowledge table of
{n_cond} common conditions and situations (child fever, headache, hypertension, type 2 diabetes, asthma,
cough, UTI, anaemia, burns, anxiety, chest pain, stroke signs, medicine safety, ...). For each condition and
language the table holds several ways users ask, an answer, follow-up questions with answers, red-flag
symptoms, and one false and one dangerous claim (used only as rejected replies). Openings, follow-ups,
red-flag sentences and closings come from several templates each, so conversations vary. Re-running the
script reproduces these files byte for byte. The medical content is general health information written for
teaching; it is not medical advice and was not reviewed by a clinician.

**Licence.** CC-BY-4.0, written for this project. Nothing is copied from other datasets or websites.

**Formats.**
- SFT (ShareGPT, as MedicalGPT): `{{"conversations": [{{"from": "system"|"human"|"gpt", "value": ...}}, ...]}}`;
  optional system turn, then human/gpt alternating, ending with gpt.
- Preference: `{{"conversations": [prompt turns ending with human], "chosen": ..., "rejected": ..., "kind": ...}}`.
  `kind` is extra (loaders ignore it).

**Files.**

| file | rows | bytes | notes |
|---|---:|---:|---|
{file_rows}

**Split rule.** Whole conditions are held out: {n_valid} conditions ({valid_ids}) appear only in the
valid files, the other {n_train} only in train. So no prompt (first human turn), answer or condition is
shared between train and valid, in either dataset.

**Preference design.** `chosen` is the helpful, honest, harmless answer: specific practical steps, honest
about uncertainty, always naming red flags or when to see a doctor, 2-5 sentences. `rejected` is one of four
failure kinds, exactly balanced (one pair of each kind per condition and language):
`unhelpful` (short dismissive reply, e.g. "Don't worry about it." / "没事，别管它。"), `dishonest`
(overconfident false claims and guarantees), `harmful` (dangerous advice: double doses, stopping prescribed
medicine, leftover antibiotics, aspirin for children, skipping emergency care) and `off_topic` (ignores the
question). Chosen and rejected are always in the prompt's language. About {pref_multi}% of prompts carry one
earlier exchange (human, gpt, human); the rest are single-turn. The differences are deliberately easy to learn
(length, red-flag wording, absolute claims), so that even the tiny random-init reward model beats chance on
held-out pairs; real preference data is far subtler. A check made while building these files (random-init
2-layer, hidden-64 reward model, byte-level BPE with 2,000 tokens, 60 steps of 16 pairs, max 256 tokens) scored
100% on the valid pairs for each of three seeds; length alone separates most pairs.
"""


def card(out: dict[str, list[dict]], sizes: dict[str, int]) -> str:
    rows = []
    for name, data in out.items():
        langs = [lang_of(first_human(r)) for r in data]
        zh = langs.count("zh")
        if name.startswith("sft"):
            multi = sum(sum(t["from"] == "human" for t in r["conversations"]) >= 2 for r in data)
            sys_n = sum(r["conversations"][0]["from"] == "system" for r in data)
            note = f"{zh} zh / {len(data) - zh} en; {multi} multi-turn; {sys_n} with a system turn"
        else:
            kinds = {k: sum(r["kind"] == k for r in data) for k in KINDS}
            note = f"{zh} zh / {len(data) - zh} en; " + ", ".join(f"{k} {v}" for k, v in kinds.items())
        rows.append(f"| `data/{name}.jsonl` | {len(data)} | {sizes[name]:,} | {note} |")
    valid_ids = [c["id"] for c in CONDITIONS if c.get("split") == "valid"]
    prefs = out["preference/train"] + out["preference/valid"]
    pref_multi = round(100 * sum(len(r["conversations"]) - (r["conversations"][0]["from"] == "system") > 1
                                 for r in prefs) / len(prefs))
    return CARD.format(seed=SEED, n_cond=len(CONDITIONS), file_rows="\n".join(rows), n_valid=len(valid_ids),
                       valid_ids=", ".join(valid_ids), n_train=len(CONDITIONS) - len(valid_ids),
                       pref_multi=pref_multi)


def main() -> None:
    out = build()
    sizes = {name: write_jsonl(HERE / f"{name}.jsonl", rows) for name, rows in out.items()}
    (HERE / "sft" / "CARD.md").write_bytes(card(out, sizes).encode("utf-8"))
    for name, rows in out.items():
        print(f"data/{name}.jsonl: {len(rows)} rows, {sizes[name]} bytes")


if __name__ == "__main__":
    main()
