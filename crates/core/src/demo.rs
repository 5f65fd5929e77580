//! Deterministic demo data: realistic Chinese customer archives (persons and organizations) with
//! their contacts and timeline entries, for demos, load tests and the search benchmark.
//!
//! Archive `i` depends only on `(seed, today, owners, i)`: its random stream is a ChaCha8 stream
//! selected by `i` under a key derived from `seed`, so archives can be generated in any order and
//! on any number of threads. Only integer arithmetic and IEEE-exact float operations (`sqrt`,
//! products, comparisons) are used, so the output is the same on every platform.
//!
//! Distributions (ported from `floors/gen_customers.py`, which the search benchmark was sized on):
//! - 70 % persons, 30 % organizations.
//! - Person names: a surname from ~110 weighted common surnames (incl. the polyphonic 单 解 曾 仇
//!   区 朴 查 盖 乐 and compound 欧阳 司马 诸葛 上官 东方 皇甫), then a given name: 35 % one skewed
//!   character (伟 芳 娜 …), 27 % a popular two-character name (秀英 建国 …), 38 % two random
//!   characters matching the gender; the gender (and the resident ID's sex digit) follows the
//!   given name. With ~1.3 names per archive (customer name plus contacts) this gives per
//!   million archives (name or a contact's name) roughly 张伟 2,200, 王芳 1,700, 李娜 1,500,
//!   刘洋 1,000, 陈建国 850, 杨秀英 750.
//! - Organization names: city (90 %) or province (10 %) + 2-character brand (0.5 % Latin such as
//!   ABC) + industry word + suffix: 杭州华星建材有限公司. The industry word fixes the GB/T 4754-2017
//!   section (建材 → 批发和零售业 or 制造业, 物业管理 → 房地产业, 酒店 → 住宿和餐饮业, 科技 →
//!   信息传输、软件和信息技术服务业 …), the business scope and the products traded.
//!   Brands 华 and 星 are weighted up so that 华星建材 occurs ~120 times per million.
//! - Places: 26 provinces and municipalities, 38 cities weighted by size, 2-6 real districts
//!   each with their 6-digit division codes (used in resident IDs and USCCs), postal codes and
//!   area codes (landlines `0571-88886666`).
//! - Grades A/B/C/D 10/30/40/20; credit grades 25/40/25/10; 2 % blacklisted; tier 80 % personal,
//!   15 % department, 5 % company; secrecy 93.8 % normal, 5 % secret, 1 % confidential, 0.2 % top
//!   secret; retention permanent/30 y/10 y 15/50/35.
//! - Created within the 5 years before `today`, skewed to recent (density ∝ age^-1/3).

use std::ops::Range;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{
    ArchiveData, ArchiveStatus, Characteristics, ComplaintStatus, ContactData, Credit, CustomerKind, EntryData, EntryDetails, EntryKind, Gender, Grade, IdType, Money, OrganizationInfo, PersonInfo, RetentionClass, Secrecy, Tier,
};
use crate::validate::{resident_id_check_char, uscc_check_char};

/// One generated archive with what hangs off it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoArchive {
    /// The archive; `owner_id`/`dept_id` are one of the generator's owners.
    pub data: ArchiveData,
    /// When the archive was opened: within the 5 years before `today`, skewed to recent.
    pub created_on: NaiveDate,
    /// Organizations 1-3 with exactly one primary; persons 0-1 (a relative or assistant, not primary).
    pub contacts: Vec<ContactData>,
    /// 0-4 timeline entries in date order, between `created_on` and `today`.
    pub entries: Vec<EntryData>,
}

/// Generates demo archives; cheap to share between threads (`archive` takes `&self`).
#[derive(Debug, Clone)]
pub struct DemoGenerator {
    seed: u64,
    key: [u8; 32],
    today: NaiveDate,
    owners: Vec<(i64, i64)>,
}

impl DemoGenerator {
    /// `owners`: (user_id, dept_id) pairs to spread archives over. An empty list leaves
    /// owner and department unset.
    pub fn new(seed: u64, today: NaiveDate, owners: Vec<(i64, i64)>) -> Self {
        let key = ChaCha8Rng::seed_from_u64(seed).gen::<[u8; 32]>();
        tables(); // build the shared lookup tables now rather than inside the first archive
        DemoGenerator { seed, key, today, owners }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// The archive with this index; the same (seed, today, owners, index) always gives the same
    /// archive, whatever else was generated before.
    pub fn archive(&self, index: u64) -> DemoArchive {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(index);
        Gen { rng, today: self.today }.archive(&self.owners)
    }

    /// Archives for a range of indexes, in order.
    pub fn archives(&self, range: Range<u64>) -> impl Iterator<Item = DemoArchive> + '_ {
        range.map(move |i| self.archive(i))
    }
}

/// The GB/T 4754-2017 section names (门类), in the standard's order.
pub const INDUSTRY_SECTIONS: &[&str] = &[
    "农、林、牧、渔业",
    "采矿业",
    "制造业",
    "电力、热力、燃气及水生产和供应业",
    "建筑业",
    "批发和零售业",
    "交通运输、仓储和邮政业",
    "住宿和餐饮业",
    "信息传输、软件和信息技术服务业",
    "金融业",
    "房地产业",
    "租赁和商务服务业",
    "科学研究和技术服务业",
    "水利、环境和公共设施管理业",
    "居民服务、修理和其他服务业",
    "教育",
    "卫生和社会工作",
    "文化、体育和娱乐业",
    "公共管理、社会保障和社会组织",
    "国际组织",
];

// =============================================================================================
// Tables
// =============================================================================================

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sex {
    M,
    F,
    /// Either.
    N,
}
use Sex::{F, M, N};

/// (surname, weight, pinyin) — roughly the national frequency order.
static SURNAMES: &[(&str, u32, &str)] = &[
    ("王", 72, "wang"), ("李", 72, "li"), ("张", 68, "zhang"), ("刘", 54, "liu"), ("陈", 46, "chen"),
    ("杨", 31, "yang"), ("黄", 22, "huang"), ("赵", 20, "zhao"), ("吴", 20, "wu"), ("周", 19, "zhou"),
    ("徐", 14, "xu"), ("孙", 14, "sun"), ("马", 12, "ma"), ("朱", 12, "zhu"), ("胡", 11, "hu"),
    ("郭", 11, "guo"), ("何", 10, "he"), ("高", 10, "gao"), ("林", 10, "lin"), ("罗", 9, "luo"),
    ("郑", 9, "zheng"), ("梁", 9, "liang"), ("谢", 7, "xie"), ("宋", 7, "song"), ("唐", 7, "tang"),
    ("许", 6, "xu"), ("韩", 6, "han"), ("冯", 6, "feng"), ("邓", 6, "deng"), ("曹", 6, "cao"),
    ("彭", 5, "peng"), ("曾", 5, "zeng"), ("肖", 5, "xiao"), ("田", 5, "tian"), ("董", 5, "dong"),
    ("袁", 4, "yuan"), ("潘", 4, "pan"), ("于", 4, "yu"), ("蒋", 4, "jiang"), ("蔡", 4, "cai"),
    ("余", 4, "yu"), ("杜", 4, "du"), ("叶", 4, "ye"), ("程", 4, "cheng"), ("苏", 4, "su"),
    ("魏", 3, "wei"), ("吕", 3, "lv"), ("丁", 3, "ding"), ("任", 3, "ren"), ("沈", 3, "shen"),
    ("姚", 3, "yao"), ("卢", 3, "lu"), ("姜", 3, "jiang"), ("崔", 3, "cui"), ("钟", 3, "zhong"),
    ("谭", 3, "tan"), ("陆", 3, "lu"), ("汪", 3, "wang"), ("范", 3, "fan"), ("金", 3, "jin"),
    ("石", 3, "shi"), ("廖", 3, "liao"), ("贾", 3, "jia"), ("夏", 3, "xia"), ("韦", 2, "wei"),
    ("付", 2, "fu"), ("方", 2, "fang"), ("白", 2, "bai"), ("邹", 2, "zou"), ("孟", 2, "meng"),
    ("熊", 2, "xiong"), ("秦", 2, "qin"), ("邱", 2, "qiu"), ("江", 2, "jiang"), ("尹", 2, "yin"),
    ("薛", 2, "xue"), ("闫", 2, "yan"), ("段", 2, "duan"), ("雷", 2, "lei"), ("侯", 2, "hou"),
    ("龙", 2, "long"), ("史", 2, "shi"), ("陶", 2, "tao"), ("黎", 2, "li"), ("贺", 2, "he"),
    ("顾", 2, "gu"), ("毛", 2, "mao"), ("郝", 2, "hao"), ("龚", 2, "gong"), ("邵", 2, "shao"),
    ("万", 2, "wan"), ("钱", 2, "qian"), ("严", 2, "yan"), ("覃", 1, "qin"), ("武", 2, "wu"),
    ("戴", 2, "dai"), ("莫", 1, "mo"), ("孔", 1, "kong"), ("向", 1, "xiang"), ("汤", 1, "tang"),
    // Polyphonic surnames (the surname reading differs from the common one).
    ("单", 1, "shan"), ("解", 1, "xie"), ("仇", 1, "qiu"), ("区", 1, "ou"), ("朴", 1, "piao"),
    ("查", 1, "zha"), ("盖", 1, "ge"), ("乐", 1, "yue"),
    // Compound surnames.
    ("欧阳", 1, "ouyang"), ("司马", 1, "sima"), ("诸葛", 1, "zhuge"), ("上官", 1, "shangguan"),
    ("东方", 1, "dongfang"), ("皇甫", 1, "huangfu"),
];

/// One-character given names, heavily skewed (伟, 芳, 娜, 洋 … are the famous duplicates).
static GIVEN1: &[(&str, u32, Sex)] = &[
    ("伟", 60, M), ("芳", 45, F), ("娜", 40, F), ("洋", 35, N), ("敏", 35, N), ("静", 35, F), ("丽", 30, F),
    ("强", 30, M), ("磊", 30, M), ("军", 28, M), ("勇", 25, M), ("艳", 25, F), ("杰", 25, M), ("娟", 22, F),
    ("涛", 22, M), ("明", 20, M), ("超", 20, M), ("霞", 18, F), ("平", 18, N), ("刚", 18, M), ("辉", 16, M),
    ("玲", 16, F), ("桂", 10, F), ("鹏", 14, M), ("华", 14, N), ("飞", 12, M), ("鑫", 12, N), ("波", 12, M),
    ("斌", 12, M), ("宇", 12, M), ("浩", 12, M), ("凯", 10, M), ("健", 10, M), ("俊", 10, M), ("帆", 10, N),
    ("帅", 10, M), ("旭", 9, M), ("宁", 9, N), ("龙", 9, M), ("林", 9, N), ("欢", 8, N), ("阳", 8, M),
    ("建", 8, M), ("亮", 8, M), ("成", 8, M), ("佳", 8, F), ("琳", 8, F), ("晶", 8, F), ("倩", 8, F),
    ("颖", 8, F), ("婷", 8, F), ("雪", 8, F), ("慧", 8, F), ("莉", 7, F), ("红", 7, F), ("梅", 7, F),
    ("丹", 7, F), ("萍", 7, F), ("燕", 7, F), ("琴", 6, F), ("蕾", 6, F), ("薇", 6, F), ("峰", 6, M),
    ("文", 6, N), ("博", 6, M), ("毅", 6, M), ("瑶", 5, F), ("怡", 5, F), ("昊", 5, M), ("睿", 5, N),
    ("轩", 5, M), ("涵", 5, F),
];

/// Popular two-character given names (建国 for 陈建国, 秀英 for 杨秀英 …).
static GIVEN2: &[(&str, u32, Sex)] = &[
    ("秀英", 40, F), ("建国", 35, M), ("建华", 30, M), ("桂英", 28, F), ("秀兰", 26, F), ("志强", 26, M),
    ("建军", 24, M), ("国强", 22, M), ("海燕", 22, F), ("红梅", 20, F), ("玉兰", 20, F), ("建平", 18, M),
    ("丽娟", 18, F), ("晓东", 18, M), ("志明", 16, M), ("秀珍", 16, F), ("桂兰", 16, F), ("玉梅", 15, F),
    ("建新", 15, M), ("小红", 15, F), ("小明", 15, M), ("国华", 14, M), ("春梅", 14, F), ("金凤", 14, F),
    ("文华", 14, N), ("德华", 12, M), ("振华", 12, M), ("晓燕", 12, F), ("丽华", 12, F), ("海涛", 12, M),
    ("俊杰", 12, M), ("子涵", 12, N), ("梓涵", 12, N), ("欣怡", 12, F), ("浩然", 12, M), ("一鸣", 10, M),
    ("思远", 10, M), ("雨轩", 10, N), ("宇航", 10, M), ("佳怡", 10, F), ("诗琪", 10, F), ("家豪", 10, M),
    ("志伟", 10, M), ("建伟", 10, M), ("文杰", 10, M), ("婷婷", 10, F), ("丹丹", 8, F), ("晶晶", 8, F),
    ("亚楠", 8, F), ("长江", 6, M), ("重阳", 4, M), ("乐乐", 4, N), ("行健", 4, M), ("长青", 4, M),
];

// Characters for random two-character given names, by gender (all 3-byte UTF-8).
const GIVEN_A_MALE: &str = "建国志文晓振德海金俊家明永立天宏浩宇泽博子一思嘉";
const GIVEN_B_MALE: &str = "华强明平军伟杰涛辉东林峰龙云航宁鸣远然轩斌";
const GIVEN_A_FEMALE: &str = "晓小玉秀春海思雨梓欣嘉佳若子一金文慧";
const GIVEN_B_FEMALE: &str = "英兰梅芳娟丽燕红霞玲婷琪怡涵萍琳";

struct District {
    name: &'static str,
    /// 6-digit administrative division code (GB/T 2260).
    code: &'static str,
    postal: &'static str,
}

struct City {
    /// 杭州市
    name: &'static str,
    /// 杭州, as in company names
    short: &'static str,
    province: &'static str,
    /// 浙江, as in company names
    prov_short: &'static str,
    area: &'static str,
    weight: u32,
    districts: &'static [District],
}

impl City {
    fn municipality(&self) -> bool {
        self.name == self.province
    }
}

macro_rules! d {
    ($n:literal, $c:literal, $p:literal) => {
        District { name: $n, code: $c, postal: $p }
    };
}

macro_rules! city {
    ($name:literal, $short:literal, $prov:literal, $ps:literal, $area:literal, $w:literal, [$($d:expr),+ $(,)?]) => {
        City { name: $name, short: $short, province: $prov, prov_short: $ps, area: $area, weight: $w, districts: &[$($d),+] }
    };
}

static CITIES: &[City] = &[
    city!("北京市", "北京", "北京市", "北京", "010", 10, [d!("东城区", "110101", "100010"), d!("西城区", "110102", "100032"), d!("朝阳区", "110105", "100020"), d!("丰台区", "110106", "100071"), d!("海淀区", "110108", "100080")]),
    city!("上海市", "上海", "上海市", "上海", "021", 10, [d!("黄浦区", "310101", "200001"), d!("徐汇区", "310104", "200030"), d!("长宁区", "310105", "200050"), d!("静安区", "310106", "200040"), d!("闵行区", "310112", "201100"), d!("浦东新区", "310115", "200120")]),
    city!("天津市", "天津", "天津市", "天津", "022", 5, [d!("和平区", "120101", "300041"), d!("河西区", "120103", "300202"), d!("南开区", "120104", "300100"), d!("滨海新区", "120116", "300450")]),
    city!("重庆市", "重庆", "重庆市", "重庆", "023", 6, [d!("渝中区", "500103", "400010"), d!("江北区", "500105", "400020"), d!("沙坪坝区", "500106", "400030"), d!("九龙坡区", "500107", "400050"), d!("渝北区", "500112", "401120")]),
    city!("广州市", "广州", "广东省", "广东", "020", 8, [d!("越秀区", "440104", "510030"), d!("海珠区", "440105", "510220"), d!("天河区", "440106", "510620"), d!("白云区", "440111", "510440"), d!("番禺区", "440113", "511400")]),
    city!("深圳市", "深圳", "广东省", "广东", "0755", 8, [d!("罗湖区", "440303", "518001"), d!("福田区", "440304", "518048"), d!("南山区", "440305", "518052"), d!("宝安区", "440306", "518101"), d!("龙岗区", "440307", "518172")]),
    city!("东莞市", "东莞", "广东省", "广东", "0769", 3, [d!("南城街道", "441900", "523000"), d!("东城街道", "441900", "523000"), d!("长安镇", "441900", "523850"), d!("虎门镇", "441900", "523900")]),
    city!("佛山市", "佛山", "广东省", "广东", "0757", 3, [d!("禅城区", "440604", "528000"), d!("南海区", "440605", "528200"), d!("顺德区", "440606", "528300")]),
    city!("杭州市", "杭州", "浙江省", "浙江", "0571", 9, [d!("上城区", "330102", "310002"), d!("拱墅区", "330105", "310011"), d!("西湖区", "330106", "310013"), d!("滨江区", "330108", "310051"), d!("萧山区", "330109", "311200"), d!("余杭区", "330110", "311100")]),
    city!("宁波市", "宁波", "浙江省", "浙江", "0574", 5, [d!("海曙区", "330203", "315000"), d!("江北区", "330205", "315020"), d!("鄞州区", "330212", "315100")]),
    city!("温州市", "温州", "浙江省", "浙江", "0577", 4, [d!("鹿城区", "330302", "325000"), d!("龙湾区", "330303", "325024"), d!("瓯海区", "330304", "325005")]),
    city!("绍兴市", "绍兴", "浙江省", "浙江", "0575", 3, [d!("越城区", "330602", "312000"), d!("柯桥区", "330603", "312030"), d!("上虞区", "330604", "312300")]),
    city!("金华市", "金华", "浙江省", "浙江", "0579", 3, [d!("婺城区", "330702", "321000"), d!("金东区", "330703", "321015"), d!("义乌市", "330782", "322000")]),
    city!("南京市", "南京", "江苏省", "江苏", "025", 6, [d!("玄武区", "320102", "210018"), d!("秦淮区", "320104", "210001"), d!("建邺区", "320105", "210019"), d!("鼓楼区", "320106", "210009"), d!("江宁区", "320115", "211100")]),
    city!("苏州市", "苏州", "江苏省", "江苏", "0512", 6, [d!("虎丘区", "320505", "215011"), d!("吴中区", "320506", "215100"), d!("相城区", "320507", "215131"), d!("姑苏区", "320508", "215000"), d!("昆山市", "320583", "215300")]),
    city!("无锡市", "无锡", "江苏省", "江苏", "0510", 4, [d!("滨湖区", "320211", "214071"), d!("梁溪区", "320213", "214000"), d!("新吴区", "320214", "214028")]),
    city!("成都市", "成都", "四川省", "四川", "028", 6, [d!("锦江区", "510104", "610011"), d!("青羊区", "510105", "610031"), d!("金牛区", "510106", "610036"), d!("武侯区", "510107", "610041"), d!("成华区", "510108", "610051")]),
    city!("武汉市", "武汉", "湖北省", "湖北", "027", 6, [d!("江岸区", "420102", "430010"), d!("江汉区", "420103", "430021"), d!("硚口区", "420104", "430030"), d!("武昌区", "420106", "430061"), d!("洪山区", "420111", "430070")]),
    city!("西安市", "西安", "陕西省", "陕西", "029", 5, [d!("新城区", "610102", "710004"), d!("碑林区", "610103", "710001"), d!("莲湖区", "610104", "710003"), d!("未央区", "610112", "710014"), d!("雁塔区", "610113", "710061")]),
    city!("长沙市", "长沙", "湖南省", "湖南", "0731", 5, [d!("芙蓉区", "430102", "410011"), d!("天心区", "430103", "410004"), d!("岳麓区", "430104", "410006"), d!("开福区", "430105", "410008"), d!("雨花区", "430111", "410007")]),
    city!("济南市", "济南", "山东省", "山东", "0531", 4, [d!("历下区", "370102", "250014"), d!("市中区", "370103", "250001"), d!("槐荫区", "370104", "250022"), d!("历城区", "370112", "250100")]),
    city!("青岛市", "青岛", "山东省", "山东", "0532", 4, [d!("市南区", "370202", "266001"), d!("市北区", "370203", "266011"), d!("黄岛区", "370211", "266500"), d!("崂山区", "370212", "266100")]),
    city!("福州市", "福州", "福建省", "福建", "0591", 3, [d!("鼓楼区", "350102", "350001"), d!("台江区", "350103", "350004"), d!("仓山区", "350104", "350007")]),
    city!("厦门市", "厦门", "福建省", "福建", "0592", 3, [d!("思明区", "350203", "361001"), d!("湖里区", "350206", "361006"), d!("集美区", "350211", "361021")]),
    city!("合肥市", "合肥", "安徽省", "安徽", "0551", 4, [d!("瑶海区", "340102", "230011"), d!("庐阳区", "340103", "230001"), d!("蜀山区", "340104", "230031"), d!("包河区", "340111", "230041")]),
    city!("郑州市", "郑州", "河南省", "河南", "0371", 5, [d!("中原区", "410102", "450007"), d!("二七区", "410103", "450052"), d!("管城回族区", "410104", "450000"), d!("金水区", "410105", "450003")]),
    city!("沈阳市", "沈阳", "辽宁省", "辽宁", "024", 3, [d!("和平区", "210102", "110001"), d!("沈河区", "210103", "110011"), d!("皇姑区", "210105", "110031"), d!("铁西区", "210106", "110021")]),
    city!("大连市", "大连", "辽宁省", "辽宁", "0411", 3, [d!("中山区", "210202", "116001"), d!("西岗区", "210203", "116011"), d!("沙河口区", "210204", "116021"), d!("甘井子区", "210211", "116033")]),
    city!("哈尔滨市", "哈尔滨", "黑龙江省", "黑龙江", "0451", 3, [d!("道里区", "230102", "150010"), d!("南岗区", "230103", "150006")]),
    city!("长春市", "长春", "吉林省", "吉林", "0431", 2, [d!("南关区", "220102", "130022"), d!("朝阳区", "220104", "130012")]),
    city!("石家庄市", "石家庄", "河北省", "河北", "0311", 3, [d!("长安区", "130102", "050011"), d!("桥西区", "130104", "050051"), d!("新华区", "130105", "050051"), d!("裕华区", "130108", "050031")]),
    city!("太原市", "太原", "山西省", "山西", "0351", 2, [d!("小店区", "140105", "030032"), d!("迎泽区", "140106", "030002")]),
    city!("昆明市", "昆明", "云南省", "云南", "0871", 3, [d!("五华区", "530102", "650031"), d!("盘龙区", "530103", "650051")]),
    city!("南宁市", "南宁", "广西壮族自治区", "广西", "0771", 2, [d!("兴宁区", "450102", "530012"), d!("青秀区", "450103", "530022")]),
    city!("南昌市", "南昌", "江西省", "江西", "0791", 2, [d!("东湖区", "360102", "330006"), d!("西湖区", "360103", "330009")]),
    city!("贵阳市", "贵阳", "贵州省", "贵州", "0851", 2, [d!("南明区", "520102", "550001"), d!("云岩区", "520103", "550001")]),
    city!("兰州市", "兰州", "甘肃省", "甘肃", "0931", 1, [d!("城关区", "620102", "730030"), d!("七里河区", "620103", "730050")]),
    city!("乌鲁木齐市", "乌鲁木齐", "新疆维吾尔自治区", "新疆", "0991", 1, [d!("天山区", "650102", "830002"), d!("沙依巴克区", "650103", "830000")]),
];

/// (character, pinyin, weight) for the first and second character of company brands.
static BRAND_A: &[(&str, &str, u32)] = &[
    ("华", "hua", 3), ("新", "xin", 1), ("宏", "hong", 1), ("盛", "sheng", 1), ("金", "jin", 1), ("鑫", "xin", 1),
    ("永", "yong", 1), ("恒", "heng", 1), ("瑞", "rui", 1), ("嘉", "jia", 1), ("德", "de", 1), ("信", "xin", 1),
    ("佳", "jia", 1), ("正", "zheng", 1), ("天", "tian", 1), ("远", "yuan", 1), ("东", "dong", 1), ("中", "zhong", 1),
    ("海", "hai", 1), ("星", "xing", 1), ("万", "wan", 1), ("泰", "tai", 1), ("祥", "xiang", 1), ("福", "fu", 1),
    ("富", "fu", 1), ("荣", "rong", 1), ("鼎", "ding", 1), ("隆", "long", 1), ("国", "guo", 1), ("达", "da", 1),
    ("明", "ming", 1), ("建", "jian", 1),
];
static BRAND_B: &[(&str, &str, u32)] = &[
    ("星", "xing", 2), ("达", "da", 1), ("兴", "xing", 1), ("丰", "feng", 2), ("源", "yuan", 1), ("泰", "tai", 1),
    ("和", "he", 1), ("通", "tong", 1), ("宇", "yu", 1), ("辉", "hui", 1), ("联", "lian", 1), ("利", "li", 1),
    ("昌", "chang", 1), ("顺", "shun", 2), ("安", "an", 1), ("博", "bo", 1), ("创", "chuang", 1), ("美", "mei", 1),
    ("诚", "cheng", 1), ("信", "xin", 1), ("发", "fa", 1), ("盛", "sheng", 1), ("茂", "mao", 1), ("业", "ye", 1),
    ("邦", "bang", 1), ("晟", "sheng", 1),
];
/// (brand, lowercase for domains)
static LATIN_BRANDS: &[(&str, &str)] = &[("ABC", "abc"), ("KTV", "ktv"), ("UNI", "uni"), ("ACE", "ace"), ("NEO", "neo"), ("IDC", "idc"), ("TCM", "tcm"), ("GDS", "gds")];

struct Word {
    word: &'static str,
    weight: u32,
    industry: &'static str,
    /// Second-choice section (taken 40 % of the time), e.g. a 建材 firm that makes rather than sells.
    alt: Option<&'static str>,
    /// For e-mail domains.
    abbr: &'static str,
    /// Index into `PRODUCTS`.
    goods: usize,
    scope: &'static str,
}

macro_rules! w {
    ($word:literal, $weight:literal, $ind:expr, $alt:expr, $abbr:literal, $goods:literal, $scope:literal) => {
        Word { word: $word, weight: $weight, industry: $ind, alt: $alt, abbr: $abbr, goods: $goods, scope: $scope }
    };
}

const IT: &str = "信息传输、软件和信息技术服务业";

static WORDS: &[Word] = &[
    w!("建材", 6, "批发和零售业", Some("制造业"), "jc", 0, "建筑材料、装饰材料、五金产品、卫生洁具的批发与零售"),
    w!("建筑工程", 5, "建筑业", None, "jzgc", 0, "房屋建筑工程、市政公用工程施工；建筑劳务分包"),
    w!("装饰工程", 5, "建筑业", None, "zs", 0, "室内外装饰装修工程设计与施工；建筑幕墙工程"),
    w!("物业管理", 6, "房地产业", None, "wy", 6, "物业管理；停车场服务；保洁服务；房屋维修"),
    w!("房地产开发", 4, "房地产业", None, "dc", 0, "房地产开发经营；房屋租赁；物业管理"),
    w!("科技", 10, IT, None, "tech", 1, "软件开发；信息技术咨询服务；计算机系统集成；网络技术服务"),
    w!("网络科技", 8, IT, None, "net", 1, "网络技术开发、技术服务；互联网信息服务；电子商务平台运营"),
    w!("信息技术", 6, IT, None, "it", 1, "信息系统集成服务；数据处理和存储服务；计算机软硬件销售"),
    w!("软件开发", 4, IT, None, "soft", 1, "软件开发；软件销售；信息技术咨询服务"),
    w!("电子科技", 5, "制造业", None, "dz", 2, "电子元器件、电子产品的研发、生产与销售"),
    w!("机械设备", 5, "制造业", Some("批发和零售业"), "jx", 2, "通用机械设备、工业自动化设备的制造、销售及维修"),
    w!("化工", 3, "制造业", None, "hg", 2, "化工原料及产品（不含危险化学品）的生产与销售"),
    w!("服装", 4, "制造业", None, "fz", 2, "服装、服饰的设计、加工与销售"),
    w!("食品", 4, "制造业", None, "food", 3, "食品生产；预包装食品销售"),
    w!("医疗器械", 3, "制造业", None, "med", 2, "第一类、第二类医疗器械的生产与销售"),
    w!("环保科技", 3, "水利、环境和公共设施管理业", None, "hb", 2, "环保工程、污水处理技术开发与服务；环境监测"),
    w!("贸易", 10, "批发和零售业", None, "trade", 3, "日用百货、五金交电、建筑材料、机械设备的批发与零售"),
    w!("商贸", 6, "批发和零售业", None, "sm", 3, "日用百货、食品、办公用品的批发与零售"),
    w!("进出口", 3, "批发和零售业", None, "imp", 3, "货物进出口；技术进出口；代理进出口"),
    w!("酒店管理", 3, "住宿和餐饮业", None, "hotel", 4, "酒店管理；住宿服务；餐饮服务；会议及展览服务"),
    w!("大酒店", 2, "住宿和餐饮业", None, "hotel", 4, "住宿服务；餐饮服务；会议服务；停车服务"),
    w!("餐饮管理", 4, "住宿和餐饮业", None, "cy", 4, "餐饮服务；餐饮管理；食品销售"),
    w!("物流", 5, "交通运输、仓储和邮政业", None, "wl", 5, "普通货运；仓储服务（不含危险品）；国内货运代理"),
    w!("运输", 3, "交通运输、仓储和邮政业", None, "ys", 5, "道路普通货物运输；货物专用运输（集装箱）"),
    w!("文化传媒", 4, "文化、体育和娱乐业", None, "media", 6, "组织文化艺术交流活动；影视策划；广告设计、制作、代理"),
    w!("广告", 3, "租赁和商务服务业", None, "ad", 6, "广告设计、制作、代理、发布；企业形象策划"),
    w!("企业管理咨询", 3, "租赁和商务服务业", None, "zx", 6, "企业管理咨询；商务信息咨询；市场调查"),
    w!("人力资源", 2, "租赁和商务服务业", None, "hr", 6, "人力资源服务；劳务派遣；职业中介"),
    w!("融资租赁", 1, "租赁和商务服务业", None, "lease", 2, "融资租赁业务；租赁业务；向国内外购买租赁财产"),
    w!("教育咨询", 3, "教育", None, "edu", 6, "教育咨询服务（不含涉许可审批的教育培训活动）；文化艺术培训"),
    w!("汽车服务", 3, "居民服务、修理和其他服务业", None, "auto", 5, "机动车维修；汽车美容；汽车配件销售"),
    w!("小额贷款", 1, "金融业", None, "dk", 6, "办理各项小额贷款；办理小企业发展、管理、财务等咨询业务"),
    w!("新能源", 2, "电力、热力、燃气及水生产和供应业", None, "ny", 2, "太阳能发电；光伏设备及元器件销售；合同能源管理"),
    w!("农业开发", 2, "农、林、牧、渔业", None, "agri", 3, "农作物种植；农产品初加工；农业技术推广服务"),
    w!("检测技术", 1, "科学研究和技术服务业", None, "test", 2, "检验检测服务；计量服务；技术咨询"),
];

/// Suffix, weight, organization form(s).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Suffix {
    Ltd,
    LtdLiability,
    JointStock,
    Group,
    Branch,
    Studio,
}
static SUFFIXES: &[(Suffix, u32)] = &[(Suffix::Ltd, 70), (Suffix::LtdLiability, 12), (Suffix::JointStock, 8), (Suffix::Group, 4), (Suffix::Branch, 3), (Suffix::Studio, 3)];

/// Mainland mobile segments.
static MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167", "170", "171", "172", "173", "175", "176",
    "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197", "198", "199",
];

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

static ROADS: &[&str] = &[
    "人民路", "解放路", "中山路", "建设路", "新华路", "文化路", "和平路", "长江路", "黄河路", "青年路", "学院路", "胜利路", "江南大道", "延安路", "南京路", "北京路", "工业大道", "科技路", "创业路", "迎宾大道",
    "滨江大道", "环城北路", "环城东路", "东风路", "光明路", "幸福路", "朝阳路", "振兴路", "育才路", "体育路", "花园路", "金融街", "商业街", "府前路", "站前路",
];
static ESTATES: &[&str] = &["阳光花园", "金色家园", "翠苑", "锦绣华庭", "幸福里", "和平新村", "世纪花园", "东方名城", "绿城桂花园", "万科城", "碧桂园", "滨江花园", "香樟苑", "紫荆公寓", "文化新村", "丽景湾"];
static TOWERS: &[&str] = &["大厦", "国际中心", "商务中心", "科技园", "广场", "创业园", "金融中心"];
static NUMERALS: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五"];

/// (product, unit, lowest and highest unit price in yuan, is a service rather than goods).
type Product = (&'static str, &'static str, i64, i64, bool);
/// Products by group.
static PRODUCTS: &[&[Product]] = &[
    // 0 building
    &[("螺纹钢", "吨", 3600, 4800, false), ("P.O 42.5水泥", "吨", 380, 520, false), ("抛光砖", "平方米", 45, 160, false), ("防水卷材", "平方米", 18, 45, false), ("LED照明灯具", "套", 60, 480, false), ("铝合金门窗", "平方米", 380, 980, false)],
    // 1 IT
    &[("机架式服务器", "台", 18000, 85000, false), ("网络交换机", "台", 2500, 28000, false), ("ERP软件授权", "套", 20000, 300000, true), ("云服务器租用", "年", 3000, 60000, true), ("笔记本电脑", "台", 4200, 12000, false), ("信息安全服务", "项", 15000, 200000, true)],
    // 2 manufacturing
    &[("工业润滑油", "桶", 680, 2200, false), ("深沟球轴承", "套", 12, 380, false), ("三相异步电机", "台", 1200, 16000, false), ("数控刀具", "把", 80, 1500, false), ("瓦楞纸箱", "个", 2, 12, false), ("不锈钢板", "吨", 14000, 22000, false)],
    // 3 trade
    &[("包装材料", "批", 2000, 30000, false), ("办公用品", "批", 500, 8000, false), ("食用油", "箱", 90, 260, false), ("日化用品", "箱", 60, 300, false), ("电子秤", "台", 180, 1500, false)],
    // 4 hotels and catering
    &[("客房一次性用品", "箱", 120, 600, false), ("床上用品四件套", "套", 180, 900, false), ("商用厨具", "套", 3000, 50000, false), ("生鲜食材配送", "批", 1500, 20000, true), ("中央空调维保", "次", 2000, 15000, true)],
    // 5 transport and vehicles
    &[("载重轮胎", "条", 1200, 3500, false), ("车载GPS定位终端", "台", 260, 1200, false), ("0号柴油", "吨", 7200, 8600, false), ("塑料托盘", "个", 60, 300, false), ("仓储货架", "组", 800, 6000, false)],
    // 6 offices and services
    &[("办公家具", "套", 1500, 12000, false), ("打印耗材", "批", 300, 5000, false), ("多功能复印机", "台", 8000, 45000, false), ("视频会议系统", "套", 12000, 90000, false), ("企业宽带", "年", 2400, 36000, true), ("广告投放服务", "项", 5000, 200000, true)],
    // 7 persons
    &[("家用中央空调", "套", 18000, 60000, false), ("净水器", "台", 1500, 8000, false), ("智能门锁", "把", 900, 3500, false), ("会员年卡", "张", 1000, 10000, true), ("汽车保养套餐", "次", 400, 3000, true), ("定制衣柜", "套", 6000, 30000, false), ("笔记本电脑", "台", 4200, 12000, false)],
];
const PERSON_GOODS: usize = 7;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Employer {
    None,
    Company,
    School,
    Hospital,
    Government,
}
static OCCUPATIONS: &[(&str, u32, Employer)] = &[
    ("企业职员", 20, Employer::Company), ("工程师", 8, Employer::Company), ("销售经理", 6, Employer::Company), ("会计", 5, Employer::Company),
    ("软件工程师", 4, Employer::Company), ("教师", 6, Employer::School), ("医生", 4, Employer::Hospital), ("护士", 3, Employer::Hospital),
    ("公务员", 4, Employer::Government), ("个体经营者", 8, Employer::None), ("自由职业", 5, Employer::None), ("司机", 3, Employer::Company),
    ("设计师", 3, Employer::Company), ("律师", 2, Employer::Company), ("厨师", 2, Employer::Company), ("私营企业主", 3, Employer::Company),
    ("农民", 2, Employer::None), ("退休", 6, Employer::None),
];

static PERSON_NATURES: &[(&str, u32)] = &[("个人客户", 70), ("会员客户", 15), ("散客", 10), ("团购客户", 5)];
static ORG_NATURES: &[(&str, u32)] = &[("终端客户", 35), ("经销商", 25), ("代理商", 12), ("批发商", 8), ("零售商", 8), ("合作伙伴", 7), ("集团客户", 5)];
static PERSON_CHANNELS: &[(&str, u32)] = &[("转介绍", 25), ("网络", 25), ("门店", 20), ("电话营销", 10), ("老客户", 10), ("活动推广", 10)];
static ORG_CHANNELS: &[(&str, u32)] = &[("转介绍", 20), ("展会", 15), ("网络", 15), ("老客户", 15), ("上门拜访", 12), ("电话营销", 10), ("招投标", 8), ("广告", 5)];
static TAGS_A: &[&str] = &["重点客户", "VIP", "长期合作", "战略合作", "优质客户"];
static TAGS: &[&str] = &["长期合作", "价格敏感", "需回访", "潜力客户", "账期敏感", "VIP", "重点客户", "大客户", "年度框架协议"];
static BLACKLIST_REASONS: &[&str] = &[
    "多次逾期付款，催收无果",
    "恶意拖欠货款，已进入诉讼程序",
    "提供虚假资质材料",
    "开具空头支票",
    "涉及合同诈骗，已报案",
    "经营异常，被列入失信被执行人名单",
];
static PERSON_NOTES: &[&str] = &["偏好微信联系", "工作日白天不便接电话", "对价格较敏感", "老客户介绍，注意维护", "需开具增值税普通发票", "周末方便上门"];
static ORG_NOTES: &[&str] = &["每月25日对账", "开票需提前三天通知", "节假日不收货", "采购需走招标流程", "财务每月10日、25日付款", "送货需提前预约卸货时间"];
static POLICIES: &[&str] = &["稳健经营，注重产品质量", "薄利多销，以价格取胜", "重视品牌建设和售后服务", "积极拓展新市场", "以大客户为主，注重长期合作", "保守经营，资金周转谨慎"];
static POTENTIALS: &[&str] = &["大，处于快速扩张期", "较大，新项目陆续落地", "一般，业务趋于稳定", "有限，行业竞争激烈"];
static ATTITUDES: &[&str] = &["积极，配合度高", "良好，沟通顺畅", "一般，需定期跟进", "观望，同时与多家供应商接触"];
static PREFERENCES: &[&str] = &["喜欢喝茶，偏好龙井", "爱好钓鱼", "不抽烟不喝酒", "偏好微信沟通", "关注价格和账期", "喜欢打羽毛球", "周末不谈工作", "爱好高尔夫", "喜欢书法", "重视交货准时"];
static ORG_TITLES_PRIMARY: &[(&str, u32)] = &[("总经理", 30), ("采购经理", 30), ("副总经理", 10), ("项目经理", 10), ("董事长", 5), ("办公室主任", 5), ("行政经理", 5), ("店长", 5)];
static ORG_TITLES: &[&str] = &["采购专员", "财务经理", "财务", "出纳", "销售经理", "技术总监", "仓库主管", "行政主管", "项目经理", "会计", "工程部经理"];
static PERSON_CONTACT_TITLES: &[&str] = &["配偶", "子女", "紧急联系人", "助理", "家属"];
static NEXT_ACTIONS: &[&str] = &["发送报价单", "安排技术交流", "跟进合同签订", "回访使用情况", "催收尾款", "寄送样品", "邀请参观工厂"];

/// Cumulative weights, for lists too long to scan.
struct Weighted {
    cum: Box<[u32]>,
}

impl Weighted {
    fn new(weights: impl Iterator<Item = u32>) -> Self {
        let mut t = 0;
        Weighted { cum: weights.map(|w| { t += w; t }).collect() }
    }
    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let r = rng.gen_range(0..*self.cum.last().unwrap());
        self.cum.partition_point(|&c| c <= r)
    }
}

struct Tables {
    surnames: Weighted,
    given1: Weighted,
    given2: Weighted,
    cities: Weighted,
    words: Weighted,
    brand_a: Weighted,
    brand_b: Weighted,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| Tables {
        surnames: Weighted::new(SURNAMES.iter().map(|s| s.1)),
        given1: Weighted::new(GIVEN1.iter().map(|s| s.1)),
        given2: Weighted::new(GIVEN2.iter().map(|s| s.1)),
        cities: Weighted::new(CITIES.iter().map(|c| c.weight)),
        words: Weighted::new(WORDS.iter().map(|w| w.weight)),
        brand_a: Weighted::new(BRAND_A.iter().map(|b| b.2)),
        brand_b: Weighted::new(BRAND_B.iter().map(|b| b.2)),
    })
}

// =============================================================================================
// Generation
// =============================================================================================

#[derive(Clone)]
struct Name {
    text: String,
    surname: usize,
    gender: Gender,
}

struct OrgName {
    name: String,
    word: &'static Word,
    suffix: Suffix,
    /// Brand in pinyin (or lowercase Latin), split in two for domains.
    py: (&'static str, &'static str),
}

struct Gen {
    rng: ChaCha8Rng,
    today: NaiveDate,
}

impl Gen {
    // --- primitives ----------------------------------------------------------------------------

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n)
    }

    fn range(&mut self, lo: i64, hi_incl: i64) -> i64 {
        self.rng.gen_range(lo..=hi_incl)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Index by weight, for short lists.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.rng.gen_range(0..total);
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        unreachable!()
    }

    fn pick_w<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let mut total = 0;
        for it in items {
            total += it.1;
        }
        let mut r = self.rng.gen_range(0..total);
        for it in items {
            if r < it.1 {
                return it.0;
            }
            r -= it.1;
        }
        unreachable!()
    }

    /// One character of a string of 3-byte (CJK) characters.
    fn cjk(&mut self, s: &'static str) -> &'static str {
        let i = self.below(s.len() / 3) * 3;
        &s[i..i + 3]
    }

    fn push_digits(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push((b'0' + self.rng.gen_range(0..10u8)) as char);
        }
    }

    /// A date in `[from, to]` (`from` if the range is empty).
    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days();
        if span <= 0 {
            from
        } else {
            from + Duration::days(self.range(0, span))
        }
    }

    // --- people --------------------------------------------------------------------------------

    fn person_name(&mut self) -> Name {
        let t = tables();
        let surname = t.surnames.pick(&mut self.rng);
        let mut text = String::with_capacity(12);
        text.push_str(SURNAMES[surname].0);
        let shape = self.below(100);
        let sex = if shape < 35 {
            let (g, _, sex) = GIVEN1[t.given1.pick(&mut self.rng)];
            text.push_str(g);
            sex
        } else if shape < 62 {
            let (g, _, sex) = GIVEN2[t.given2.pick(&mut self.rng)];
            text.push_str(g);
            sex
        } else if self.chance(0.5) {
            text.push_str(self.cjk(GIVEN_A_MALE));
            text.push_str(self.cjk(GIVEN_B_MALE));
            M
        } else {
            text.push_str(self.cjk(GIVEN_A_FEMALE));
            text.push_str(self.cjk(GIVEN_B_FEMALE));
            F
        };
        let gender = match sex {
            M => Gender::Male,
            F => Gender::Female,
            N => {
                if self.chance(0.5) {
                    Gender::Male
                } else {
                    Gender::Female
                }
            }
        };
        Name { text, surname, gender }
    }

    fn mobile(&mut self) -> String {
        let mut s = String::with_capacity(11);
        s.push_str(self.pick(MOBILE_PREFIXES));
        self.push_digits(&mut s, 8);
        s
    }

    /// `0571-88886666`: 8-digit local numbers after 3-digit area codes, 7 or 8 after 4-digit ones.
    fn landline(&mut self, city: &City, business: bool) -> String {
        let mut s = String::with_capacity(13);
        s.push_str(city.area);
        s.push('-');
        let len = if city.area.len() == 3 || self.chance(0.7) { 8 } else { 7 };
        let first = (b'2' + self.rng.gen_range(0..7u8)) as char;
        if business && len == 8 && self.chance(0.05) {
            // The memorable numbers businesses pay for: 8888xxxx, 6666xxxx, xxxx8888.
            let d = if self.chance(0.6) { '8' } else { '6' };
            let tail_first = self.chance(0.5);
            if tail_first {
                s.push(first);
                self.push_digits(&mut s, 3);
            }
            for _ in 0..4 {
                s.push(d);
            }
            if !tail_first {
                self.push_digits(&mut s, 4);
            }
        } else {
            s.push(first);
            self.push_digits(&mut s, len - 1);
        }
        s
    }

    fn free_mail(&mut self, surname: usize) -> String {
        let mut s = String::with_capacity(24);
        if self.chance(0.45) {
            // QQ numbers: 6-10 digits, no leading zero.
            s.push((b'1' + self.rng.gen_range(0..9u8)) as char);
            let n = self.below(5) + 5;
            self.push_digits(&mut s, n);
            s.push_str("@qq.com");
        } else {
            s.push_str(SURNAMES[surname].2);
            let n = self.below(3) + 2;
            self.push_digits(&mut s, n);
            s.push_str(self.pick(&["@163.com", "@126.com", "@sina.com", "@139.com", "@foxmail.com", "@outlook.com"]));
        }
        s
    }

    fn address(&mut self, city: &City, district: &District, home: bool) -> String {
        let mut s = String::with_capacity(96);
        s.push_str(city.province);
        if !city.municipality() {
            s.push_str(city.name);
        }
        s.push_str(district.name);
        s.push_str(self.pick(ROADS));
        let n = self.range(1, 999);
        s.push_str(&n.to_string());
        s.push('号');
        if home {
            if self.chance(0.7) {
                s.push_str(self.pick(ESTATES));
                let (b, u, f, r) = (self.range(1, 28), self.range(1, 4), self.range(1, 26), self.range(1, 4));
                s.push_str(&format!("{b}幢{u}单元{f}0{r}室"));
            }
        } else if self.chance(0.5) {
            s.push_str(self.cjk("华新宏盛金鑫永恒瑞嘉德信佳正天远东中海星万泰祥福富荣鼎隆国达明"));
            s.push_str(self.cjk("华新宏盛金鑫永恒瑞嘉德信佳正天远东中海星万泰祥福富荣鼎隆国达明"));
            s.push_str(self.pick(TOWERS));
            let (f, r) = (self.range(2, 32), self.range(1, 20));
            s.push_str(&format!("{f}{r:02}室"));
        }
        s
    }

    /// A resident ID (GB 11643): region + birth date + 3-digit sequence (odd for men) + check.
    fn resident_id(&mut self, region: &str, birth: NaiveDate, gender: Gender) -> String {
        let mut s = String::with_capacity(18);
        s.push_str(region);
        s.push_str(&format!("{:04}{:02}{:02}", birth.year(), birth.month(), birth.day()));
        let tens = self.below(100);
        let last = self.below(5) * 2 + usize::from(gender == Gender::Male);
        let seq = if tens == 0 && last == 0 { 2 } else { tens * 10 + last };
        s.push_str(&format!("{seq:03}"));
        let c = resident_id_check_char(&s);
        s.push(c);
        s
    }

    // --- organizations -------------------------------------------------------------------------

    fn org_name(&mut self, city: &City, district: &District) -> OrgName {
        let t = tables();
        let word = &WORDS[t.words.pick(&mut self.rng)];
        let suffix = self.pick_w(SUFFIXES);
        let r = self.below(1000);
        let mut name = String::with_capacity(72);
        name.push_str(if r >= 900 { city.prov_short } else { city.short });
        let py = if r < 5 {
            let (b, lower) = self.pick(LATIN_BRANDS);
            name.push_str(b);
            (lower, "")
        } else {
            let a = BRAND_A[t.brand_a.pick(&mut self.rng)];
            let b = BRAND_B[t.brand_b.pick(&mut self.rng)];
            name.push_str(a.0);
            name.push_str(b.0);
            (a.1, b.1)
        };
        name.push_str(word.word);
        match suffix {
            Suffix::Ltd => name.push_str("有限公司"),
            Suffix::LtdLiability => name.push_str("有限责任公司"),
            Suffix::JointStock => name.push_str("股份有限公司"),
            Suffix::Group => name.push_str("集团有限公司"),
            Suffix::Studio => name.push_str("工作室"),
            Suffix::Branch => {
                name.push_str("有限公司");
                name.push_str(short_district(district.name));
                name.push_str("分公司");
            }
        }
        OrgName { name, word, suffix, py }
    }

    /// GB 32100: registration authority and type (91 enterprise, 92 individual business),
    /// 6-digit division code, 9-character organization code (GB 11714, with its own check
    /// character), check character.
    fn uscc(&mut self, kind: &str, division: &str, new_style: bool) -> String {
        let mut s = String::with_capacity(18);
        s.push_str(kind);
        if self.chance(0.5) {
            s.push_str(&division[..4]);
            s.push_str("00");
        } else {
            s.push_str(division);
        }
        let mut body = [0u8; 8];
        if new_style {
            body[0] = b'M';
            body[1] = b'A';
            for b in &mut body[2..] {
                *b = USCC_ALPHABET[self.below(31)];
            }
        } else {
            body[0] = b'1' + self.rng.gen_range(0..8u8);
            for b in &mut body[1..] {
                *b = b'0' + self.rng.gen_range(0..10u8);
            }
        }
        const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.iter().zip(W).map(|(&c, w)| if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 } * w).sum();
        let check = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            d => (b'0' + d as u8) as char,
        };
        for &b in &body {
            s.push(b as char);
        }
        s.push(check);
        let c = uscc_check_char(&s);
        s.push(c);
        s
    }

    // --- the archive ---------------------------------------------------------------------------

    fn archive(mut self, owners: &[(i64, i64)]) -> DemoArchive {
        let today = self.today;
        // Age in days with density ∝ age^(-1/3): u^1.5 of five years.
        let u: f64 = self.rng.gen();
        let created_on = today - Duration::days((u * u.sqrt() * 1826.0) as i64);
        let is_org = self.chance(0.3);
        let city = &CITIES[tables().cities.pick(&mut self.rng)];
        let district = &city.districts[self.below(city.districts.len())];

        let (mut data, contacts, goods, cps) = if is_org { self.organization(city, district, created_on) } else { self.person(city, district) };

        let c = &mut data.classification;
        c.province = Some(city.province.to_string());
        c.city = Some(city.name.to_string());
        c.district = Some(district.name.to_string());
        let grade = [Grade::A, Grade::B, Grade::C, Grade::D][self.weighted(&[10, 30, 40, 20])];
        data.classification.grade = Some(grade);

        // Credit.
        let blacklisted = self.chance(0.02);
        if blacklisted || self.chance(if is_org { 0.95 } else { 0.5 }) {
            data.credit = self.credit(is_org, blacklisted, created_on);
        }
        data.status = if blacklisted {
            [ArchiveStatus::Lost, ArchiveStatus::Dormant, ArchiveStatus::Closed][self.weighted(&[40, 30, 30])]
        } else if (today - created_on).num_days() < 90 {
            [ArchiveStatus::Prospect, ArchiveStatus::Active][self.below(2)]
        } else {
            [ArchiveStatus::Active, ArchiveStatus::Prospect, ArchiveStatus::Dormant, ArchiveStatus::Lost, ArchiveStatus::Closed][self.weighted(&[55, 12, 18, 10, 5])]
        };

        // Tags.
        let n_tags = self.weighted(&[50, 35, 15]);
        for _ in 0..n_tags {
            let tag = if grade == Grade::A && self.chance(0.7) { self.pick(TAGS_A) } else { self.pick(TAGS) };
            if !data.classification.tags.iter().any(|t| t == tag) {
                data.classification.tags.push(tag.to_string());
            }
        }
        if (today - created_on).num_days() < 180 && self.chance(0.3) && data.classification.tags.len() < 2 {
            data.classification.tags.push("新客户".to_string());
        }

        data.tier = if grade == Grade::A && self.chance(0.2) {
            Tier::Company
        } else {
            [Tier::Personal, Tier::Department, Tier::Company][self.weighted(&[80, 15, 5])]
        };
        data.secrecy = [Secrecy::Normal, Secrecy::Secret, Secrecy::Confidential, Secrecy::TopSecret][self.weighted(&[938, 50, 10, 2])];
        data.retention_class = [RetentionClass::Permanent, RetentionClass::Y30, RetentionClass::Y10][self.weighted(&[15, 50, 35])];
        if !owners.is_empty() {
            let (user, dept) = owners[self.below(owners.len())];
            data.owner_id = Some(user);
            data.dept_id = Some(dept);
        }

        let entries = self.entries(is_org, created_on, goods, &cps, data.credit.payment_term_days);
        DemoArchive { data, created_on, contacts, entries }
    }

    /// The archive data of a person, their contacts, the product group and the counterparts for entries.
    fn person(&mut self, city: &City, district: &District) -> (ArchiveData, Vec<ContactData>, usize, Vec<String>) {
        let today = self.today;
        let name = self.person_name();
        let age_days = 18 * 365 + self.range(0, 25 * 365) + self.range(0, 27 * 365);
        let birth = today - Duration::days(age_days);
        let mut p = PersonInfo { gender: Some(name.gender), ..PersonInfo::default() };
        if self.chance(0.88) {
            let region = if self.chance(0.8) { district.code } else { city.districts[self.below(city.districts.len())].code };
            p.id_type = Some(IdType::ResidentId);
            p.id_number = Some(self.resident_id(region, birth, name.gender));
            p.birth_date = Some(birth);
        } else if self.chance(0.6) {
            p.birth_date = Some(birth);
        }
        let retired = age_days > 58 * 365 && self.chance(0.7);
        let (occupation, employer) = if retired { ("退休", Employer::None) } else { self.pick_occupation() };
        if self.chance(0.9) {
            p.occupation = Some(occupation.to_string());
        }
        p.employer = match employer {
            Employer::None => None,
            Employer::Company => Some(self.org_name(city, district).name),
            Employer::School => Some(match self.below(3) {
                0 => format!("{}第{}中学", city.name, self.pick(NUMERALS)),
                1 => format!("{}实验小学", city.name),
                _ => format!("{}{}中心小学", city.name, district.name),
            }),
            Employer::Hospital => Some(match self.below(3) {
                0 => format!("{}第{}人民医院", city.name, self.pick(&NUMERALS[..5])),
                1 => format!("{}中医院", city.name),
                _ => format!("{}{}人民医院", city.name, district.name),
            }),
            Employer::Government => Some(format!("{}{}{}", city.name, district.name, self.pick(&["人民政府", "市场监督管理局", "税务局", "人力资源和社会保障局"]))),
        };

        let mut a = ArchiveData::new(CustomerKind::Person, name.text.clone());
        if self.chance(0.95) {
            a.mobile = Some(self.mobile());
        }
        if self.chance(0.25) {
            a.landline = Some(self.landline(city, false));
        }
        if self.chance(0.25) {
            a.email = Some(self.free_mail(name.surname));
        }
        if self.chance(0.85) {
            a.address = Some(self.address(city, district, true));
            a.postal_code = Some(district.postal.to_string());
        }
        a.person = Some(p);
        a.classification.nature = Some(self.pick_w(PERSON_NATURES).to_string());
        a.classification.source_channel = Some(self.pick_w(PERSON_CHANNELS).to_string());
        if self.chance(0.15) {
            a.characteristics.notes = Some(self.pick(PERSON_NOTES).to_string());
        }

        let mut contacts = Vec::new();
        if self.chance(0.15) {
            let mut c = self.contact(city, None, None);
            c.title = Some(self.pick(PERSON_CONTACT_TITLES).to_string());
            contacts.push(c);
        }
        (a, contacts, PERSON_GOODS, vec![name.text])
    }

    fn pick_occupation(&mut self) -> (&'static str, Employer) {
        let total: u32 = OCCUPATIONS.iter().map(|o| o.1).sum();
        let mut r = self.rng.gen_range(0..total);
        for &(o, w, e) in OCCUPATIONS {
            if r < w {
                return (o, e);
            }
            r -= w;
        }
        unreachable!()
    }

    fn organization(&mut self, city: &City, district: &District, created_on: NaiveDate) -> (ArchiveData, Vec<ContactData>, usize, Vec<String>) {
        let on = self.org_name(city, district);
        let word = on.word;
        let mut a = ArchiveData::new(CustomerKind::Organization, on.name);

        // Founded some time before the archive was opened; USCCs issued since October 2015 carry
        // new-style organization codes (MA…), older firms kept theirs.
        let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let latest = created_on - Duration::days(30);
        let u: f64 = self.rng.gen();
        let founded = latest - Duration::days((u * u.sqrt() * (latest - earliest).num_days() as f64) as i64);
        let new_style = founded >= NaiveDate::from_ymd_opt(2015, 10, 1).unwrap();

        let (form, kind) = match on.suffix {
            Suffix::Ltd | Suffix::LtdLiability | Suffix::Group => ("有限责任公司", "91"),
            Suffix::JointStock => ("股份有限公司", "91"),
            Suffix::Branch => ("有限责任公司分公司", "91"),
            Suffix::Studio => {
                if self.chance(0.6) {
                    ("个人独资企业", "91")
                } else {
                    ("个体工商户", "92")
                }
            }
        };
        // Size: (employees range, registered capital choices in 万元).
        let (emp_lo, emp_hi, capitals): (i64, i64, &[(i64, u32)]) = match on.suffix {
            Suffix::Studio => (1, 12, &[(3, 3), (5, 3), (10, 3), (20, 1), (50, 1)]),
            Suffix::Group => (200, 5000, &[(5000, 3), (10000, 3), (20000, 2), (50000, 1)]),
            Suffix::JointStock => (50, 3000, &[(1000, 2), (2000, 2), (5000, 3), (10000, 2), (30000, 1)]),
            _ => (3, 500, &[(10, 6), (50, 10), (100, 20), (200, 14), (300, 12), (500, 14), (800, 5), (1000, 10), (2000, 5), (5000, 4)]),
        };
        // Employees skewed small, bounded by the capital (about one head per 20,000 yuan).
        let capital_wan = self.pick_w(capitals);
        let emp_hi = (capital_wan / 2).clamp(emp_lo + 10, emp_hi);
        let u: f64 = self.rng.gen();
        let employees = emp_lo + ((u * u) * (emp_hi - emp_lo) as f64) as i64;
        let capital = if on.suffix == Suffix::Branch { None } else { Some(Money::from_yuan(capital_wan * 10_000)) };
        let per_head = self.range(20, 120); // 万元 per employee and year
        let annual_sales = Money::from_yuan(employees * per_head * 10_000);

        let legal_rep = self.person_name();
        let mut scope = String::with_capacity(160);
        scope.push_str(word.scope);
        if self.chance(0.7) {
            scope.push_str("。（依法须经批准的项目，经相关部门批准后方可开展经营活动）");
        }
        let org = OrganizationInfo {
            uscc: if self.chance(0.97) { Some(self.uscc(kind, district.code, new_style)) } else { None },
            legal_representative: Some(legal_rep.text.clone()),
            registered_capital: capital,
            founded_on: Some(founded),
            organization_form: Some(form.to_string()),
            employees: if self.chance(0.9) { Some(employees) } else { None },
            annual_sales: if self.chance(0.7) { Some(annual_sales) } else { None },
            business_scope: if self.chance(0.9) { Some(scope) } else { None },
        };
        a.organization = Some(org);

        if self.chance(0.9) {
            a.landline = Some(self.landline(city, true));
        }
        if self.chance(0.4) {
            a.mobile = Some(self.mobile());
        }
        let domain = if self.chance(0.7) {
            let tld = self.pick(&[".com", ".com.cn", ".cn", ".net"]);
            Some(format!("{}{}{}{}", on.py.0, on.py.1, if self.chance(0.6) { word.abbr } else { "" }, tld))
        } else {
            None
        };
        if self.chance(0.6) {
            a.email = Some(match &domain {
                Some(d) => format!("{}@{d}", self.pick(&["info", "sales", "service", "admin", "contact", "office", "market", "hr"])),
                None => self.free_mail(legal_rep.surname),
            });
        }
        if self.chance(0.95) {
            a.address = Some(self.address(city, district, false));
            a.postal_code = Some(district.postal.to_string());
        }

        let c = &mut a.classification;
        c.industry = Some(match word.alt {
            Some(alt) if self.rng.gen_bool(0.4) => alt.to_string(),
            _ => word.industry.to_string(),
        });
        a.classification.nature = Some(self.pick_w(ORG_NATURES).to_string());
        a.classification.source_channel = Some(self.pick_w(ORG_CHANNELS).to_string());

        // Characteristics: a few fields each.
        let mut chr = Characteristics::default();
        if self.chance(0.7) {
            chr.service_area = Some(match self.below(5) {
                0 | 1 => format!("{}及周边地区", city.name),
                2 => format!("{}{}", city.prov_short, if city.municipality() { "全市" } else { "全省" }),
                3 => "全国".to_string(),
                _ => format!("{}{}", city.name, district.name),
            });
        }
        if self.chance(0.6) {
            let level = self.pick(&["强", "较强", "一般", "较弱"]);
            chr.sales_ability = Some(if self.chance(0.6) {
                format!("{level}，年销售额约{}万元", employees * per_head)
            } else {
                level.to_string()
            });
        }
        if self.chance(0.5) {
            chr.development_potential = Some(self.pick(POTENTIALS).to_string());
        }
        if self.chance(0.4) {
            chr.business_policy = Some(self.pick(POLICIES).to_string());
        }
        if self.chance(0.6) {
            chr.cooperation_attitude = Some(self.pick(ATTITUDES).to_string());
        }
        if self.chance(0.4) {
            chr.business_status = Some(match self.below(4) {
                0 => {
                    let (a1, b1) = (BRAND_A[self.below(BRAND_A.len())].0, BRAND_B[self.below(BRAND_B.len())].0);
                    format!("主要竞争对手为{}{a1}{b1}，本公司供货占比约{}%", city.short, self.range(2, 8) * 10)
                }
                1 => format!("经营正常，去年营收增长约{}%", self.range(3, 30)),
                2 => "受行业下行影响，订单有所减少".to_string(),
                _ => "新建厂房已投产，产能扩大".to_string(),
            });
        }
        if self.chance(0.2) {
            chr.notes = Some(self.pick(ORG_NOTES).to_string());
        }
        a.characteristics = chr;

        // Contacts: 1-3, the first primary; the legal representative often is the primary contact.
        let n = 1 + self.weighted(&[55, 30, 15]);
        let mut contacts = Vec::with_capacity(n);
        let mut cps = Vec::with_capacity(n);
        for i in 0..n {
            let mut title = if i == 0 { self.pick_w(ORG_TITLES_PRIMARY) } else { self.pick(ORG_TITLES) };
            while i > 0 && contacts.iter().any(|c: &ContactData| c.title.as_deref() == Some(title)) {
                title = self.pick(ORG_TITLES);
            }
            let same_as_rep = i == 0 && matches!(title, "总经理" | "董事长") && self.chance(0.6);
            let mut c = self.contact(city, domain.as_deref(), if same_as_rep { Some(legal_rep.clone()) } else { None });
            c.title = Some(title.to_string());
            c.is_primary = i == 0;
            cps.push(format!("{title}{}", c.name));
            contacts.push(c);
        }
        (a, contacts, word.goods, cps)
    }

    /// A contact; `name` when the person is already known (the legal representative).
    fn contact(&mut self, city: &City, domain: Option<&str>, name: Option<Name>) -> ContactData {
        let name = match name {
            Some(n) => n,
            None => self.person_name(),
        };
        let mut c = ContactData {
            name: name.text,
            title: None,
            mobile: None,
            landline: None,
            email: None,
            wechat: None,
            birthday: None,
            preferences: None,
            is_primary: false,
        };
        if self.chance(0.95) {
            c.mobile = Some(self.mobile());
        }
        if self.chance(0.3) {
            c.landline = Some(self.landline(city, false));
        }
        if self.chance(0.3) {
            c.email = Some(match domain {
                Some(d) if self.chance(0.6) => {
                    let n = self.range(1, 99);
                    format!("{}{n}@{d}", SURNAMES[name.surname].2)
                }
                _ => self.free_mail(name.surname),
            });
        }
        if self.chance(0.4) {
            c.wechat = Some(match self.below(3) {
                0 => c.mobile.clone().unwrap_or_else(|| self.mobile()),
                1 => {
                    let mut s = String::with_capacity(20);
                    s.push_str("wxid_");
                    for _ in 0..14 {
                        let i = self.below(36);
                        s.push(b"abcdefghijklmnopqrstuvwxyz0123456789"[i] as char);
                    }
                    s
                }
                _ => {
                    let mut s = SURNAMES[name.surname].2.to_string();
                    let n = self.below(3) + 3;
                    self.push_digits(&mut s, n);
                    s
                }
            });
        }
        if self.chance(0.25) {
            let age = self.range(25 * 365, 60 * 365);
            c.birthday = Some(self.today - Duration::days(age));
        }
        if self.chance(0.2) {
            c.preferences = Some(self.pick(PREFERENCES).to_string());
        }
        c
    }

    fn credit(&mut self, is_org: bool, blacklisted: bool, created_on: NaiveDate) -> Credit {
        let grade_i = if blacklisted { 3 } else { self.weighted(&[25, 40, 25, 10]) };
        let grade = [Grade::A, Grade::B, Grade::C, Grade::D][grade_i];
        // Limits in yuan: organizations in 万, persons in thousands.
        let limit = if is_org {
            let (lo, hi, step) = [(50, 500, 10), (10, 100, 5), (2, 20, 1), (0, 5, 1)][grade_i];
            self.range(lo / step, hi / step) * step * 10_000
        } else {
            let (lo, hi) = [(50, 200), (20, 80), (5, 30), (0, 5)][grade_i];
            self.range(lo, hi) * 1000
        };
        let terms: &[(i32, u32)] = if is_org {
            [&[(30, 3), (45, 2), (60, 3), (90, 2)][..], &[(15, 2), (30, 5), (45, 2), (60, 1)], &[(0, 3), (15, 3), (30, 4)], &[(0, 1)]][grade_i]
        } else {
            &[(0, 7), (30, 3)]
        };
        let discounts: &[(i32, u32)] = [&[(85, 2), (88, 2), (90, 3), (92, 2), (95, 1)][..], &[(90, 2), (92, 2), (95, 4), (98, 2)], &[(95, 3), (98, 3), (100, 4)], &[(100, 1)]][grade_i];
        let assessed = self.date_between(created_on, self.today);
        let months = [3, 6, 9, 12][self.weighted(&[20, 35, 10, 35])];
        let valid_until = assessed.checked_add_months(Months::new(months)).unwrap_or(assessed);
        Credit {
            grade: Some(grade),
            limit: Some(Money::from_yuan(if blacklisted { 0 } else { limit })),
            payment_term_days: Some(self.pick_w(terms)),
            discount_percent: Some(self.pick_w(discounts)),
            blacklisted,
            blacklist_reason: if blacklisted { Some(self.pick(BLACKLIST_REASONS).to_string()) } else { None },
            assessed_on: Some(assessed),
            valid_until: Some(valid_until),
        }
    }

    // --- timeline ------------------------------------------------------------------------------

    fn entries(&mut self, is_org: bool, created_on: NaiveDate, goods: usize, cps: &[String], term: Option<i32>) -> Vec<EntryData> {
        let n = self.weighted(&[15, 25, 25, 20, 15]);
        let mut dates: Vec<NaiveDate> = (0..n).map(|_| self.date_between(created_on, self.today)).collect();
        dates.sort_unstable();
        let kinds = [EntryKind::Visit, EntryKind::Communication, EntryKind::Transaction, EntryKind::Payment, EntryKind::Contract, EntryKind::Service, EntryKind::Complaint];
        let weights: &[u32] = if is_org { &[22, 25, 15, 10, 8, 12, 8] } else { &[12, 30, 22, 10, 3, 15, 8] };
        let products = PRODUCTS[goods];
        let mut out = Vec::with_capacity(n);
        for on in dates {
            let kind = kinds[self.weighted(weights)];
            let cp = &cps[self.below(cps.len())];
            let (product, unit, lo, hi, service) = self.pick(products);
            let mut d = EntryDetails::default();
            let summary = match kind {
                EntryKind::Visit => {
                    d.counterpart = Some(cp.clone());
                    match self.below(5) {
                        0 => format!("上门拜访{cp}，介绍{product}，对方有采购意向，约定下周报价"),
                        1 => format!("拜访{cp}，了解{}年采购计划，预计需求量较去年有所增加", on.year() + 1),
                        2 => format!("陪同技术人员拜访{cp}，现场查看{product}使用情况"),
                        3 => format!("节前走访{cp}，赠送公司礼品，维护客户关系"),
                        _ => format!("拜访{cp}，沟通账期事宜，对方希望延长付款期限"),
                    }
                }
                EntryKind::Communication => {
                    d.counterpart = Some(cp.clone());
                    match self.below(5) {
                        0 if service => format!("电话联系{cp}，确认{product}的开始时间"),
                        0 => format!("电话联系{cp}，确认{product}交货时间"),
                        1 => format!("微信沟通{cp}，发送最新价格表及{product}产品资料"),
                        2 => format!("邮件发送{product}报价单，等待{cp}回复"),
                        3 => format!("电话回访{cp}，客户对上次服务表示满意"),
                        _ => format!("与{cp}核对上季度往来账目，双方金额一致"),
                    }
                }
                EntryKind::Transaction => {
                    let price = self.range(lo, hi);
                    let qty = self.quantity(price, is_org);
                    let amount = Money::from_yuan(price * qty);
                    d.product = Some(product.to_string());
                    d.quantity = Some(qty);
                    d.amount = Some(amount);
                    let pay = match term {
                        Some(0) | None => "款到发货".to_string(),
                        Some(t) => format!("账期{t}天"),
                    };
                    format!("销售{product}{qty}{unit}，单价{price}元，合计{}，{pay}", amount.display_cny())
                }
                EntryKind::Payment => {
                    let price = self.range(lo, hi);
                    let amount = Money::from_yuan(price * self.quantity(price, is_org));
                    d.amount = Some(amount);
                    let how = if is_org { self.pick(&["银行转账", "银行承兑汇票", "电汇"]) } else { self.pick(&["微信支付", "支付宝", "银行转账", "刷卡", "现金"]) };
                    format!("收到{how}{}，用于支付{product}{}", amount.display_cny(), if service { "费用" } else { "货款" })
                }
                EntryKind::Contract => {
                    let price = self.range(lo, hi);
                    let amount = Money::from_yuan(price * self.quantity(price, is_org) * if is_org { self.range(3, 12) } else { 1 });
                    let start = on + Duration::days(self.range(0, 14));
                    let months = [6, 12, 12, 24, 36][self.below(5)];
                    let end = start.checked_add_months(Months::new(months)).unwrap_or(start) - Duration::days(1);
                    let no = format!("HT{}{:02}-{:04}", on.year(), on.month(), self.range(1, 9999));
                    let what = match (is_org, service) {
                        (_, true) => "服务合同",
                        (true, false) => self.pick(&["年度供货合同", "采购合同", "框架协议"]),
                        (false, false) => "购销合同",
                    };
                    d.contract_no = Some(no.clone());
                    d.start_date = Some(start);
                    d.end_date = Some(end);
                    d.amount = Some(amount);
                    d.product = Some(product.to_string());
                    format!("签订{product}{what}（{no}），合同金额{}，有效期{months}个月", amount.display_cny())
                }
                EntryKind::Service => {
                    d.product = Some(product.to_string());
                    d.counterpart = Some(cp.clone());
                    match (service, self.below(4)) {
                        (false, 0) => format!("{product}上门安装调试完成，{cp}签字确认"),
                        (false, 1) => format!("{product}故障报修，更换配件后恢复正常"),
                        (false, 2) => format!("定期巡检{product}，运行正常"),
                        (false, _) => format!("为{cp}提供{product}使用培训"),
                        (true, 0 | 1) => format!("提醒{cp}{product}即将到期，客户表示将续约"),
                        (true, 2) => format!("回访{cp}{product}使用体验，客户反馈良好"),
                        (true, _) => format!("解答{cp}关于{product}的咨询"),
                    }
                }
                EntryKind::Complaint => {
                    d.product = Some(product.to_string());
                    d.counterpart = Some(cp.clone());
                    let age = (self.today - on).num_days();
                    d.complaint_status = Some(if age > 60 {
                        [ComplaintStatus::Closed, ComplaintStatus::Resolved, ComplaintStatus::InProgress][self.weighted(&[60, 35, 5])]
                    } else {
                        [ComplaintStatus::Open, ComplaintStatus::InProgress, ComplaintStatus::Resolved, ComplaintStatus::Closed][self.weighted(&[30, 35, 25, 10])]
                    });
                    match self.below(5) {
                        0 if service => format!("{cp}反映{product}未按约定时间完成"),
                        0 if is_org => format!("{cp}反映{product}交货延迟{}天，影响其生产进度", self.range(2, 15)),
                        0 => format!("{cp}反映{product}送货延迟{}天", self.range(2, 10)),
                        1 if service => format!("{cp}对{product}的服务质量不满意，要求整改"),
                        1 if is_org => format!("{cp}投诉{product}质量问题，部分产品存在破损"),
                        1 => format!("{cp}投诉{product}质量问题，要求退换"),
                        2 => "客户反映发票信息有误，要求重新开具".to_string(),
                        3 => format!("{cp}投诉售后响应慢，维修人员未按约定时间上门"),
                        _ => format!("{cp}对{product}价格调整有异议，要求维持原价"),
                    }
                }
            };
            if matches!(kind, EntryKind::Visit | EntryKind::Communication) && self.chance(0.4) {
                d.next_action = Some(self.pick(NEXT_ACTIONS).to_string());
                d.next_action_on = Some(on + Duration::days(self.range(3, 30)));
            }
            out.push(EntryData { kind, occurred_on: on, summary, details: d, supersedes: None, correction_reason: None });
        }
        out
    }

    fn quantity(&mut self, unit_price: i64, is_org: bool) -> i64 {
        if !is_org {
            return if unit_price >= 1_000 { self.range(1, 2) } else { self.range(1, 5) };
        }
        match unit_price {
            p if p >= 10_000 => self.range(1, 5),
            p if p >= 1_000 => self.range(1, 30),
            p if p >= 100 => self.range(5, 200),
            _ => self.range(50, 5000),
        }
    }
}

/// 西湖区 → 西湖, 浦东新区 → 浦东, 长安镇 → 长安, 义乌市 → 义乌 (for branch names).
fn short_district(name: &str) -> &str {
    for suffix in ["回族区", "新区", "街道", "区", "镇", "市"] {
        if let Some(s) = name.strip_suffix(suffix) {
            if !s.is_empty() {
                return s;
            }
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{validate_archive, validate_contact, validate_entry};
    use std::collections::HashSet;
    use std::time::Instant;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn generator() -> DemoGenerator {
        DemoGenerator::new(20261124, today(), vec![(1, 10), (2, 10), (3, 20), (4, 30)])
    }

    #[test]
    fn tables_are_well_formed() {
        let ok = |s: &str| s.chars().all(|c| c.len_utf8() == 3);
        for s in [GIVEN_A_MALE, GIVEN_B_MALE, GIVEN_A_FEMALE, GIVEN_B_FEMALE] {
            assert!(ok(s), "{s}");
        }
        for c in CITIES {
            assert!(c.area.starts_with('0') && c.area.len() == if matches!(c.area.as_bytes()[1], b'1' | b'2') { 3 } else { 4 }, "{}", c.name);
            assert!(c.name.starts_with(c.short) && c.province.starts_with(c.prov_short));
            for d in c.districts {
                assert_eq!(d.code.len(), 6);
                assert!(d.code.bytes().all(|b| b.is_ascii_digit()));
                assert_eq!(d.postal.len(), 6);
                assert!(!d.postal.starts_with('9'));
            }
            // Districts of one city share the city's division prefix.
            let prefix = &c.districts[0].code[..4];
            assert!(c.districts.iter().all(|d| &d.code[..4] == prefix), "{}", c.name);
        }
        for w in WORDS {
            assert!(INDUSTRY_SECTIONS.contains(&w.industry), "{}", w.industry);
            if let Some(a) = w.alt {
                assert!(INDUSTRY_SECTIONS.contains(&a));
            }
            assert!(w.goods < PRODUCTS.len());
        }
        assert_eq!(short_district("浦东新区"), "浦东");
        assert_eq!(short_district("西湖区"), "西湖");
        assert_eq!(short_district("长安镇"), "长安");
    }

    /// Every generated archive, contact and entry must pass validation, and the data must be
    /// internally consistent (dates, ID contents, primary contacts).
    #[test]
    fn archives_pass_validation() {
        let g = generator();
        for i in 0..20_000u64 {
            let a = g.archive(i);
            let d = &a.data;
            let errs = validate_archive(d);
            assert!(errs.is_empty(), "archive {i} {:?}: {errs:?}", d.name);
            for (k, c) in a.contacts.iter().enumerate() {
                let errs = validate_contact(c, &format!("contacts[{k}]."));
                assert!(errs.is_empty(), "archive {i} contact {k} {c:?}: {errs:?}");
            }
            for e in &a.entries {
                let errs = validate_entry(e);
                assert!(errs.is_empty(), "archive {i} entry {e:?}: {errs:?}");
                assert!(e.occurred_on >= a.created_on && e.occurred_on <= today(), "archive {i}: {e:?}");
            }
            // Already normalized.
            let mut n = d.clone();
            n.normalize();
            assert_eq!(&n, d, "archive {i} changes on normalize");

            assert!(a.created_on <= today() && a.created_on > today() - Duration::days(5 * 366));
            assert!(a.entries.windows(2).all(|w| w[0].occurred_on <= w[1].occurred_on));
            assert!(a.entries.len() <= 4);
            assert!(d.owner_id.is_some() && d.dept_id.is_some());
            match d.kind {
                CustomerKind::Person => {
                    let p = d.person.as_ref().unwrap();
                    assert!(d.organization.is_none());
                    assert!(a.contacts.len() <= 1 && a.contacts.iter().all(|c| !c.is_primary));
                    if let Some(id) = &p.id_number {
                        assert_eq!(id.len(), 18);
                        let birth = p.birth_date.unwrap();
                        assert_eq!(&id[6..14], birth.format("%Y%m%d").to_string());
                        let male = (id.as_bytes()[16] - b'0') % 2 == 1;
                        assert_eq!(male, p.gender == Some(Gender::Male));
                        let prov = d.classification.province.as_deref().unwrap();
                        let city = CITIES.iter().find(|c| c.districts.iter().any(|x| x.code == &id[..6])).unwrap();
                        assert_eq!(city.province, prov, "ID region outside the province");
                        let age = today().year() - birth.year();
                        assert!((17..=71).contains(&age), "{age}");
                    }
                }
                CustomerKind::Organization => {
                    let o = d.organization.as_ref().unwrap();
                    assert!(d.person.is_none());
                    assert!((1..=3).contains(&a.contacts.len()));
                    assert_eq!(a.contacts.iter().filter(|c| c.is_primary).count(), 1);
                    assert!(d.classification.industry.is_some());
                    if let Some(u) = &o.uscc {
                        assert_eq!(u.len(), 18);
                        assert!(u.starts_with("91") || u.starts_with("92"));
                        assert!(u.bytes().all(|b| USCC_ALPHABET.contains(&b)), "{u}");
                        let city = CITIES.iter().find(|c| c.districts.iter().any(|x| x.code[..4] == u[2..6])).unwrap();
                        assert_eq!(Some(city.province), d.classification.province.as_deref());
                    }
                    assert!(o.founded_on.unwrap() < a.created_on);
                }
            }
            let c = &d.credit;
            if let (Some(from), Some(to)) = (c.assessed_on, c.valid_until) {
                assert!(from >= a.created_on && from <= today() && to > from);
            }
            if c.blacklisted {
                assert_eq!(c.limit, Some(Money(0)));
                assert!(c.blacklist_reason.is_some());
            }
        }
    }

    #[test]
    fn deterministic_and_order_independent() {
        let g = generator();
        let forward: Vec<DemoArchive> = (0..500).map(|i| g.archive(i)).collect();
        let backward: Vec<DemoArchive> = (0..500).rev().map(|i| g.archive(i)).collect();
        for (i, a) in forward.iter().enumerate() {
            assert_eq!(a, &backward[499 - i]);
            assert_eq!(a, &g.archive(i as u64));
        }
        // A second generator with the same parameters agrees; another seed does not.
        let g2 = generator();
        assert_eq!(g2.archive(12345), g.archive(12345));
        let g3 = DemoGenerator::new(7, today(), vec![(1, 10), (2, 10), (3, 20), (4, 30)]);
        let same = (0..100).filter(|&i| g3.archive(i).data.name == g.archive(i).data.name).count();
        assert!(same < 10, "{same}");
        // Different indexes differ.
        let names: HashSet<String> = forward.iter().map(|a| a.data.name.clone()).collect();
        assert!(names.len() > 450);
        // Parallel generation gives the same archives.
        let parallel: Vec<DemoArchive> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4u64).map(|t| s.spawn({ let g = &g; move || (t * 125..(t + 1) * 125).map(|i| g.archive(i)).collect::<Vec<_>>() })).collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(parallel, forward);
    }

    /// One pass over 100,000 archives: shares, name frequencies and the benchmark's queries.
    #[test]
    fn distributions_over_100k() {
        let g = generator();
        let n = 100_000u64;
        let start = Instant::now();
        let mut persons = 0u64;
        let mut names: std::collections::HashMap<&str, u64> = ["张伟", "王芳", "李娜", "刘洋", "陈建国", "杨秀英"].into_iter().map(|s| (s, 0)).collect();
        let mut company = [("华星建材", 0u64), ("物业管理", 0), ("酒店", 0), ("科技有限公司", 0), ("ABC", 0)];
        let (mut zj_a, mut it_tech, mut zhang_b_a, mut blacklisted, mut grade_a, mut secret, mut top_secret, mut contacts, mut entries) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
        let mut kinds = HashSet::new();
        let mut industries = HashSet::new();
        let mut polyphonic = 0u64;
        for i in 0..n {
            let a = g.archive(i);
            let d = &a.data;
            if d.kind == CustomerKind::Person {
                persons += 1;
                if ["单", "解", "曾", "仇", "区", "朴", "欧阳", "司马"].iter().any(|s| d.name.starts_with(s)) {
                    polyphonic += 1;
                }
            } else {
                for (w, c) in company.iter_mut() {
                    if d.name.contains(*w) {
                        *c += 1;
                    }
                }
                industries.insert(d.classification.industry.clone().unwrap());
            }
            for (nm, c) in names.iter_mut() {
                if d.name == *nm || a.contacts.iter().any(|x| x.name == *nm) {
                    *c += 1;
                }
            }
            let grade = d.classification.grade;
            if grade == Some(Grade::A) {
                grade_a += 1;
                if d.classification.province.as_deref() == Some("浙江省") {
                    zj_a += 1;
                }
            }
            if d.name.contains("科技") && d.classification.industry.as_deref() == Some(IT) {
                it_tech += 1;
            }
            if d.name.contains('张') && grade == Some(Grade::B) && d.credit.grade == Some(Grade::A) {
                zhang_b_a += 1;
            }
            blacklisted += u64::from(d.credit.blacklisted);
            secret += u64::from(d.secrecy != Secrecy::Normal);
            top_secret += u64::from(d.secrecy == Secrecy::TopSecret);
            contacts += a.contacts.len() as u64;
            entries += a.entries.len() as u64;
            for e in &a.entries {
                kinds.insert(e.kind);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!("demo: {n} archives in {secs:.2} s ({:.1} µs/archive, unoptimized crate in debug builds)", secs * 1e6 / n as f64);
        eprintln!("demo: persons {persons}, names {names:?}, company words {company:?}, 浙江 A {zj_a}, 科技+IT {it_tech}, 张+B+credit A {zhang_b_a}");
        eprintln!("demo: blacklisted {blacklisted}, grade A {grade_a}, secret+ {secret}, top secret {top_secret}, contacts {contacts}, entries {entries}, polyphonic/compound surnames {polyphonic}");

        let share = persons as f64 / n as f64;
        assert!((0.68..0.72).contains(&share), "{share}");
        // Per million: 张伟 ~2,200, 王芳 ~1,700, 李娜 ~1,500, 刘洋 ~1,000, 陈建国 ~850, 杨秀英 ~750.
        for (nm, lo, hi) in [("张伟", 140, 300), ("王芳", 110, 240), ("李娜", 90, 220), ("刘洋", 60, 150), ("陈建国", 45, 130), ("杨秀英", 35, 110)] {
            let c = names[nm];
            assert!((lo..=hi).contains(&c), "{nm}: {c}");
        }
        for (w, c) in company {
            assert!(c > 0, "no organization name contains {w}");
        }
        assert!(company[1].1 > 500 && company[2].1 > 300 && company[3].1 > 1000, "{company:?}");
        assert!(zj_a > 500, "{zj_a}");
        assert!(it_tech > 1000, "{it_tech}");
        assert!(zhang_b_a > 100, "{zhang_b_a}");
        assert!((1500..2500).contains(&blacklisted), "{blacklisted}");
        assert!((9000..11000).contains(&grade_a), "{grade_a}");
        assert!((5000..7500).contains(&secret), "{secret}");
        assert!(top_secret > 0);
        assert_eq!(kinds.len(), EntryKind::ALL.len());
        assert!(industries.len() >= 15, "{industries:?}");
        assert!(polyphonic > 100);
        assert!(entries > 150_000 && contacts > 40_000, "{entries} {contacts}");
    }

    /// Prints a few archives as JSON to eyeball them:
    /// `cargo test -p dangan-core demo_samples -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn demo_samples() {
        let g = generator();
        for i in 0..3 {
            let a = g.archive(i);
            let v = serde_json::json!({ "created_on": a.created_on, "data": a.data, "contacts": a.contacts, "entries": a.entries });
            println!("{}", serde_json::to_string_pretty(&v).unwrap());
        }
        for a in g.archives(3..40) {
            let d = &a.data;
            let o = d.organization.clone().unwrap_or_default();
            let contacts: Vec<String> = a.contacts.iter().map(|c| format!("{}{}", c.title.as_deref().unwrap_or(""), c.name)).collect();
            println!(
                "{} | {} | {:?} | {} | {} | {:?} | {:?} | {:?} | {:?} | {}",
                a.created_on,
                d.name,
                d.classification.industry,
                d.mobile.as_deref().unwrap_or("-"),
                d.landline.as_deref().unwrap_or("-"),
                d.email,
                o.uscc,
                o.registered_capital.map(|m| m.display_cny()),
                o.employees,
                contacts.join("、")
            );
        }
    }

    /// Generation rate; run with `cargo test --release -p dangan-core demo_rate -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn demo_rate() {
        let g = generator();
        let n = 1_000_000u64;
        let start = Instant::now();
        let mut bytes = 0usize;
        for i in 0..n {
            bytes += g.archive(i).data.name.len();
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!("demo_rate: {n} archives single-threaded in {secs:.2} s = {:.2} µs/archive ({bytes})", secs * 1e6 / n as f64);
        let threads = std::thread::available_parallelism().map_or(1, |p| p.get()) as u64;
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let g = &g;
                s.spawn(move || (t..n).step_by(threads as usize).map(|i| g.archive(i).entries.len()).sum::<usize>());
            }
        });
        let secs = start.elapsed().as_secs_f64();
        eprintln!("demo_rate: {n} archives on {threads} threads in {secs:.2} s = {:.0} archives/s", n as f64 / secs);
    }
}
